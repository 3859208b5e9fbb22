import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { ApiPlugin } from '../deps.ts';

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hearth</title></head>
<body><h1>Hearth</h1><p>The hub is running, but its web UI is not built yet (<code>ui/dist</code> is
missing). The API is at <code>/api/v1</code>.</p></body></html>
`;

/**
 * The web UI at `/`: the built files when `ui/dist` exists, else a page saying so. Public and
 * served before setup, since the UI is where the owner is created.
 */
export const uiRoutes =
  (uiDir: string): ApiPlugin =>
  async (app) => {
    if (existsSync(uiDir)) {
      // Routes registered by @fastify/static in this context are declared public here: the access
      // check refuses any route that declares nothing.
      app.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public', beforeSetup: true };
      });
      // Vite puts a content hash in every file name under assets/, so those never change and are
      // cached for good; everything else (index.html, sw.js, the manifest) is revalidated on each
      // load so a new build shows at once. The UI routes with the URL hash (`#/devices/x`): the
      // document is always `/`, so no fallback for client-side paths is needed.
      // The build writes `.br` and `.gz` copies next to its text files (ui/build-plugins): a file is
      // sent as brotli, else gzip, as the request's Accept-Encoding allows (q-values honoured), else
      // as itself, always with `Vary: Accept-Encoding`; length and ETag are those of the bytes sent.
      // The copies are not addressable on their own (404), so each file has one URL.
      await app.register(fastifyStatic, {
        root: uiDir,
        wildcard: true,
        preCompressed: true,
        allowedPath: (path) => !/\.(br|gz)$/.test(path),
        cacheControl: false,
        setHeaders: (res, path) => {
          res.header(
            'cache-control',
            /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
      });
      return;
    }
    app.get('/', { config: { access: 'public', beforeSetup: true }, schema: {} }, async (_request, reply) => {
      return reply.type('text/html; charset=utf-8').send(NOT_BUILT);
    });
  };
