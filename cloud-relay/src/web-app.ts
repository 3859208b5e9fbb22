import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Tells the app it was loaded from a relay, not from its hub: it then talks only through the relay. */
export const RELAY_ORIGIN_META = '<meta name="hearth-origin" content="relay">';

/**
 * The hub's web app served on the relay's own (https, behind the load balancer) origin, so a
 * phone away from home can open and install it: browsers run service workers only in secure
 * contexts, which `http://hearth.local` is not. The files are the same build the hub serves; only
 * index.html gets a marker. Read once at start (a few hundred KB): a node serves them from memory.
 *
 * The relay cannot read a home's traffic, but code it serves runs with the keys of a browser
 * that opens it: docs/relay-protocol.md "Enrolment by invite" says what that trusts.
 */
export class WebApp {
  readonly #files = new Map<string, { type: string; body: Buffer; immutable: boolean }>();

  constructor(root: string) {
    const base = realpathSync(root);
    const index = readFileSync(join(base, 'index.html'), 'utf8');
    if (!index.includes('<head>')) throw new Error(`${root}/index.html has no <head>`);
    this.#add('/', '.html', Buffer.from(index.replace('<head>', `<head>${RELAY_ORIGIN_META}`)), false);
    for (const name of ['sw.js', 'manifest.webmanifest', 'icon.svg']) this.#addFile(base, name, false);
    for (const name of listDir(join(base, 'assets'))) this.#addFile(base, `assets/${name}`, true);
  }

  /** Answers GET/HEAD for a file of the app; false when the path is not one (the caller answers). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0]!;
    const file = this.#files.get(path === '/index.html' ? '/' : path);
    if (!file) return false;
    res.writeHead(200, {
      'content-type': file.type,
      'content-length': file.body.length,
      // Hashed assets never change; the page, worker and manifest are checked on every load.
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // The app's own code and the relay's WebSocket only: no third-party script can join in.
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return true;
  }

  #addFile(base: string, name: string, immutable: boolean): void {
    const full = join(base, name);
    // Only regular files inside the build directory (no symlink out of it).
    if (!realpathSync(full).startsWith(base + sep) || !statSync(full).isFile()) return;
    this.#add(`/${name}`, extname(name), readFileSync(full), immutable);
  }

  #add(path: string, ext: string, body: Buffer, immutable: boolean): void {
    this.#files.set(path, { type: TYPES[ext] ?? 'application/octet-stream', body, immutable });
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
