import type { TotpSetup as TotpSetupView } from '@hearth/model/api';
import Type from 'typebox';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX } from '../../auth/policy.ts';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Session, User } from '../schemas.ts';

export const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 256 }) }, closed);
export const PasswordChangeBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
    newPassword: Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX }),
  },
  closed,
);
// A login: the password, and with two-step login on, a code from the app or a recovery code.
export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
    totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
    recoveryCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  closed,
);
const Me = Type.Object({ ...User.properties, totp: Type.Boolean() });
const TotpSetup = Type.Object({ secret: Type.String(), uri: Type.String() });
// Turning it on needs the password too (as turning it off does), and answers a fresh session:
// every other session of the person has ended.
export const TotpEnableBody = Type.Object(
  { code: Type.String({ pattern: '^[0-9]{6}$' }), password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }) },
  closed,
);
const TotpEnabled = Type.Intersect([Session, Type.Object({ recoveryCodes: Type.Array(Type.String()) })]);
export const TotpDisableBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }) },
  closed,
);

/** Sessions: login, refresh (rotating), logout, and who the token belongs to. */
export const authRoutes: ApiPlugin = async (app, { deps }) => {
  app.post(
    '/auth/login',
    { config: { access: 'public' }, schema: { body: LoginBody, response: { 200: Session } } },
    // request.ip is the peer address (no proxy is trusted): the unit the limiter counts.
    async (request) => {
      const { username, password, totp, recoveryCode } = request.body;
      return deps.auth.login(username, password, request.ip, { totp, recoveryCode });
    },
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

  app.get('/me', { config: { access: 'guest' }, schema: { response: { 200: Me } } }, async (request) =>
    deps.auth.user(actorOf(request).userId),
  );

  // Anyone logged in changes their own password (also through the relay, where request.ip is the
  // remote device). The answer is a fresh session: every other session of theirs has ended.
  app.post(
    '/me/password',
    { config: { access: 'guest' }, schema: { body: PasswordChangeBody, response: { 200: Session } } },
    async (request) => deps.auth.changePassword(actorOf(request), request.body, request.ip),
  );

  // Two-step login (hub/src/auth/two-factor.ts), for anyone, on the LAN and through the relay:
  // a new secret (pending), its confirmation with the password and a code (answers the recovery
  // codes, once, and a fresh session: the others end), and turning it off with the password
  // (wrong_password 403, counted like a failed login).
  app.post(
    '/me/totp/setup',
    { config: { access: 'guest' }, schema: { response: { 200: TotpSetup } } },
    async (request) => deps.auth.twoFactor.setup(actorOf(request)) satisfies TotpSetupView,
  );
  app.post(
    '/me/totp/enable',
    { config: { access: 'guest' }, schema: { body: TotpEnableBody, response: { 200: TotpEnabled } } },
    async (request) => deps.auth.enableTotp(actorOf(request), request.body, request.ip),
  );
  app.post(
    '/me/totp/disable',
    { config: { access: 'guest' }, schema: { body: TotpDisableBody } },
    async (request, reply) => {
      await deps.auth.disableTotp(actorOf(request), request.body.password, request.ip);
      return reply.code(204).send();
    },
  );
};
