import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../auth/policy.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Credentials, Session, User } from '../schemas.ts';

const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, closed);
const PasswordChangeBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
    newPassword: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
  },
  closed,
);

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

  // Anyone logged in changes their own password (also through the relay, where request.ip is the
  // remote device). The answer is a fresh session: every other session of theirs has ended.
  app.post(
    '/me/password',
    { config: { access: 'guest' }, schema: { body: PasswordChangeBody, response: { 200: Session } } },
    async (request) => deps.auth.changePassword(actorOf(request), request.body, request.ip),
  );
};
