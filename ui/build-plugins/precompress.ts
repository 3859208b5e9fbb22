import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** Text formats worth compressing; images other than SVG and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest']);
/** Below this a compressed copy saves less than the headers and a round of negotiation cost. */
const MIN_BYTES = 1024;

/**
 * Writes `NAME.br` and `NAME.gz` next to every compressible file of the build, at the strongest
 * settings (brotli 11, gzip 9): that costs about a second once per build, where the hub on a Pi
 * would pay it on every request. The hub (@fastify/static `preCompressed`) and the relay pick the
 * copy the browser's Accept-Encoding allows. A copy that is not smaller than the file is not
 * written, so the servers fall back to the file itself.
 */
export function precompress(): Plugin {
  return {
    name: 'hearth-precompress',
    apply: 'build',
    // After the bundle and the public files (copied before it) are on disk.
    writeBundle: {
      order: 'post',
      handler(options) {
        if (options.dir) compressTree(options.dir);
      },
    },
  };
}

export function compressTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      compressTree(path);
      continue;
    }
    if (!COMPRESSIBLE.has(extname(name))) continue;
    const body = readFileSync(path);
    if (body.length < MIN_BYTES) continue;
    const br = brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
    const gz = gzipSync(body, { level: 9 });
    if (br.length < body.length) writeFileSync(`${path}.br`, br);
    if (gz.length < body.length) writeFileSync(`${path}.gz`, gz);
  }
}
