import Type from 'typebox';
import { PASSWORD_MAX, USERNAME_MAX } from '../auth/policy.ts';
import { StateValue } from '../devices/schemas.ts';

/** Shapes shared by several resources. Objects are closed: an unknown field is a 400. */
export const closed = { additionalProperties: false } as const;

/** Defined with the devices (rules use it too); re-exported for the routes. */
export { StateValue };

export const Id = Type.String({ minLength: 1, maxLength: 64 });
export const IdParams = Type.Object({ id: Id }, closed);

export const Name = Type.String({ minLength: 1, maxLength: 100 });

// Login takes whatever was typed (limited in size); the policy applies when a password is set.
export const Credentials = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
  },
  closed,
);

export const Session = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer(),
});

export const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.String(),
  createdAt: Type.String(),
});

export const Device = Type.Object({
  id: Type.String(),
  name: Type.String(),
  roomId: Type.Union([Type.String(), Type.Null()]),
  driver: Type.String(),
  model: Type.String(),
  capabilities: Type.Array(Type.String()),
  available: Type.Boolean(),
  state: Type.Record(Type.String(), StateValue),
  updatedAt: Type.String(),
});

export const Room = Type.Object({
  id: Type.String(),
  name: Type.String(),
  homeId: Type.String(),
  createdAt: Type.String(),
});
