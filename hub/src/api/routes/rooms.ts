import Type from 'typebox';
import { actorOf } from '../access.ts';
import type { ApiPlugin } from '../deps.ts';
import { closed, IdParams, Name, Room } from '../schemas.ts';

export const RoomBody = Type.Object({ name: Name }, closed);

/** Rooms: everyone in the household reads them (a guest those shared); admins arrange them. */
export const roomRoutes: ApiPlugin = async (app, { deps }) => {
  const { registry } = deps;

  // A guest lists only the rooms shared with them (devices/sharing.ts).
  app.get('/rooms', { config: { access: 'guest' }, schema: { response: { 200: Type.Array(Room) } } }, async (request) =>
    registry.listRooms().filter((r) => registry.sharing.sees(actorOf(request), { kind: 'room', id: r.id })),
  );

  app.post(
    '/rooms',
    { config: { access: 'admin' }, schema: { body: RoomBody, response: { 201: Room } } },
    async (request, reply) => {
      return reply.code(201).send(registry.createRoom(request.body.name, actorOf(request)));
    },
  );

  app.patch(
    '/rooms/:id',
    { config: { access: 'admin' }, schema: { params: IdParams, body: RoomBody, response: { 200: Room } } },
    async (request) => registry.renameRoom(request.params.id, request.body.name, actorOf(request)),
  );

  app.delete('/rooms/:id', { config: { access: 'admin' }, schema: { params: IdParams } }, async (request, reply) => {
    registry.deleteRoom(request.params.id, actorOf(request));
    return reply.code(204).send();
  });
};
