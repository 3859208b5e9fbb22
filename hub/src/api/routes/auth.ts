import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Credentials, Session, User } from '../schemas.ts';

const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, closed);

/** Sessions: login, refresh (rotating), logout, and who the token belongs to. */
export const authRoutes: ApiPlugin = async (app, { deps }) => {
  app.post(
    '/auth/login',
    { config: { access: 'public' }, schema: { body: Credentials, response: { 200: Session } } },
    // request.ip is the peer address (no proxy is trusted): the unit the limiter counts.
    async (request) => deps.auth.login(request.body.username, request.body.password, request.ip),
  );

  // The refresh token is the credential here: an expired access token must not stop a refresh.
  app.post(
    '/auth/refresh',
    { config: { access: 'public' }, schema: { body: RefreshBody, response: { 200: Session } } },
    async (request) => deps.auth.refresh(request.body.refreshToken),
  );

  app.post('/auth/logout', { config: { access: 'public' }, schema: { body: RefreshBody } }, async (request, reply) => {
    deps.auth.logout(request.body.refreshToken);
    return reply.code(204).send();
  });

  app.get('/me', { config: { access: 'guest' }, schema: { response: { 200: User } } }, async (request) => deps.auth.user(actorOf(request).userId));
};
