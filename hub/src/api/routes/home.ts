import Type from 'typebox';
import { HubError } from '../../core/errors.ts';
import { recordAudit } from '../../store/audit-log.ts';
import { HOME_LOCATION_SETTING as LOCATION, HOME_TIMEZONE_SETTING as TIMEZONE } from '../../store/home-settings.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Name } from '../schemas.ts';


const Location = Type.Object({ latitude: Type.Number({ minimum: -90, maximum: 90 }), longitude: Type.Number({ minimum: -180, maximum: 180 }) }, closed);
const Home = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Type.Union([Location, Type.Null()]),
  timezone: Type.Union([Type.String(), Type.Null()]),
});
const HomePatch = Type.Object(
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
  const { store, bus, clock } = deps;

  const view = () => {
    const home = store.rooms.homes()[0];
    if (!home) throw new HubError('not_ready', 'the home is not set up yet');
    return {
      id: home.id,
      name: home.name,
      location: store.settings.get<{ latitude: number; longitude: number }>(LOCATION) ?? null,
      timezone: store.settings.get<string>(TIMEZONE) ?? null,
    };
  };

  app.get('/home', { config: { access: 'member' }, schema: { response: { 200: Home } } }, async () => view());

  app.patch('/home', { config: { access: 'admin' }, schema: { body: HomePatch, response: { 200: Home } } }, async (request) => {
    const { name, location, timezone } = request.body;
    if (typeof timezone === 'string' && !isTimeZone(timezone)) {
      throw new HubError('validation_failed', `'${timezone}' is not an IANA time zone`, { location: 'body', path: 'timezone', field: 'timezone' });
    }
    const home = view();
    store.transaction(() => {
      if (name !== undefined) store.rooms.renameHome(home.id, name);
      if (location !== undefined) store.settings.set(LOCATION, location);
      if (timezone !== undefined) store.settings.set(TIMEZONE, timezone);
    });
    recordAudit(store, bus, { actor: actorOf(request), action: 'home.update', target: home.id, details: request.body, at: clock.now() });
    return view();
  });
};
