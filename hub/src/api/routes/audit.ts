import Type from 'typebox';
import type { ApiPlugin } from '../deps.ts';
import { closed } from '../schemas.ts';

const Query = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    /** An entry id: returns entries older than it (the `nextBefore` of the previous page). */
    before: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  closed,
);

const Entry = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: Type.Record(Type.String(), Type.Unknown()),
  action: Type.String(),
  target: Type.Optional(Type.String()),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

/** The audit log, newest first, paged backwards. */
export const auditRoutes: ApiPlugin = async (app, { deps }) => {
  app.get(
    '/audit',
    {
      config: { access: 'admin' },
      schema: {
        querystring: Query,
        response: {
          200: Type.Object({ entries: Type.Array(Entry), nextBefore: Type.Union([Type.Integer(), Type.Null()]) }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const rows = deps.audit.list(limit, request.query.before);
      const entries = rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
      return { entries, nextBefore: rows.length === limit ? rows[rows.length - 1]!.id : null };
    },
  );
};
