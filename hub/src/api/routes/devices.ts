import type { DeviceCreated } from '@hearth/model/api';
import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, Device, Id, IdParams, Name, StateValue } from '../schemas.ts';

export const CreateBody = Type.Object(
  {
    name: Name,
    roomId: Type.Optional(Type.Union([Id, Type.Null()])),
    driver: Type.String({ minLength: 1, maxLength: 64 }),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    capabilities: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 64 }),
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  closed,
);

export const UpdateBody = Type.Object(
  { name: Type.Optional(Name), roomId: Type.Optional(Type.Union([Id, Type.Null()])) },
  { ...closed, minProperties: 1 },
);

export const CommandBody = Type.Object(
  { capability: Type.String({ minLength: 1, maxLength: 64 }), value: StateValue },
  closed,
);

const Created = Type.Object({
  device: Device,
  /** Credentials of an MQTT device: shown once, never again. */
  mqtt: Type.Optional(Type.Object({ username: Type.String(), password: Type.String() })),
});

/**
 * Devices. The registry decides what each actor may see and do; the declared roles here are the
 * floor (guests list and command only what is shared with them, members all, admins add and remove).
 */
export const deviceRoutes: ApiPlugin = async (app, { deps }) => {
  const { registry } = deps;

  app.get(
    '/devices',
    { config: { access: 'guest' }, schema: { response: { 200: Type.Array(Device) } } },
    async (request) => registry.list(actorOf(request)),
  );

  app.get(
    '/devices/:id',
    { config: { access: 'guest' }, schema: { params: IdParams, response: { 200: Device } } },
    async (request) => registry.get(request.params.id, actorOf(request)),
  );

  app.post(
    '/devices',
    { config: { access: 'admin' }, schema: { body: CreateBody, response: { 201: Created } } },
    async (request, reply) => {
      return reply.code(201).send((await registry.create(request.body, actorOf(request))) satisfies DeviceCreated);
    },
  );

  app.patch(
    '/devices/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: UpdateBody, response: { 200: Device } } },
    async (request) => registry.update(request.params.id, request.body, actorOf(request)),
  );

  app.delete('/devices/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    await registry.remove(request.params.id, actorOf(request));
    return reply.code(204).send();
  });

  // Answers once the device confirmed the new state (504 `device_timeout` if it did not). A guest
  // reaches it for devices shared with them to control (the registry's check: 404 unshared, 403
  // `share_view_only` shared to view).
  app.post(
    '/devices/:id/commands',
    { config: { access: 'guest' }, schema: { params: IdParams, body: CommandBody, response: { 200: Device } } },
    async (request) =>
      registry.command(request.params.id, request.body.capability, request.body.value, actorOf(request)),
  );
};
