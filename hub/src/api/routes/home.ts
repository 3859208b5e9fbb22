import type { HomeSettings } from '@hearth/model/api';
import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Name } from '../schemas.ts';

const Location = Type.Object(
  { latitude: Type.Number({ minimum: -90, maximum: 90 }), longitude: Type.Number({ minimum: -180, maximum: 180 }) },
  closed,
);
const Home = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Type.Union([Location, Type.Null()]),
  timezone: Type.Union([Type.String(), Type.Null()]),
});
export const HomePatch = Type.Object(
  {
    name: Type.Optional(Name),
    location: Type.Optional(Type.Union([Location, Type.Null()])),
    timezone: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
  },
  closed,
);

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The home itself: its name, where it is (sunrise/sunset rules need it) and its time zone (local
 * days for energy). Everyone reads it; admins change it.
 */
export const homeRoutes: ApiPlugin = async (app, { deps }) => {
  const { home, clock } = deps;

  app.get(
    '/home',
    { config: { access: 'member' }, schema: { response: { 200: Home } } },
    async () => home.view() satisfies HomeSettings,
  );

  app.patch(
    '/home',
    { config: { access: 'admin' }, schema: { body: HomePatch, response: { 200: Home } } },
    async (request) => {
      const { timezone } = request.body;
      if (typeof timezone === 'string' && !isTimeZone(timezone)) {
        throw new HubError('validation_failed', `'${timezone}' is not an IANA time zone`, {
          location: 'body',
          path: 'timezone',
          field: 'timezone',
        });
      }
      return home.update(request.body, actorOf(request), clock.now());
    },
  );
};
