import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { negotiate } from '@fastify/accept-negotiator';

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

/**
 * The compressed copies the UI build writes next to its text files (ui/build-plugins), best
 * first. Chosen from Accept-Encoding by the same negotiator the hub's static files use
 * (@fastify/accept-negotiator), so a browser gets the same bytes from its hub and from the relay.
 */
const ENCODINGS = [
  { name: 'br', suffix: '.br', decompress: brotliDecompressSync },
  { name: 'gzip', suffix: '.gz', decompress: gunzipSync },
] as const;
type Encoding = (typeof ENCODINGS)[number]['name'];

/** One encoding of a file: its bytes and their validator. */
interface Representation {
  body: Buffer;
  etag: string;
}

interface AppFile {
  type: string;
  immutable: boolean;
  identity: Representation;
  encoded: Map<Encoding, Representation>;
}

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
  readonly #files = new Map<string, AppFile>();

  constructor(root: string) {
    const base = realpathSync(root);
    const index = readFileSync(join(base, 'index.html'), 'utf8');
    if (!index.includes('<head>')) throw new Error(`${root}/index.html has no <head>`);
    this.#add('/', '.html', Buffer.from(index.replace('<head>', `<head>${RELAY_ORIGIN_META}`)), false);
    for (const name of ['sw.js', 'manifest.webmanifest', 'icon.svg']) this.#addFile(base, name, false);
    for (const name of listDir(join(base, 'assets'))) {
      // The compressed copies are encodings of their file, not files with URLs of their own.
      if (!ENCODINGS.some((e) => name.endsWith(e.suffix))) this.#addFile(base, `assets/${name}`, true);
    }
  }

  /** Answers GET/HEAD for a file of the app; false when the path is not one (the caller answers). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0]!;
    const file = this.#files.get(path === '/index.html' ? '/' : path);
    if (!file) return false;
    const encoding = pickEncoding(req.headers['accept-encoding'], file);
    const chosen = encoding ? file.encoded.get(encoding)! : file.identity;
    const headers: Record<string, string | number> = {
      'content-type': file.type,
      'content-length': chosen.body.length,
      etag: chosen.etag,
      // The bytes depend on Accept-Encoding, whichever were sent: a shared cache must not hand
      // brotli to a browser that did not ask for it, nor the plain file to one that did.
      vary: 'Accept-Encoding',
      // Hashed assets never change; the page, worker and manifest are checked on every load.
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // The app's own code and the relay's WebSocket only: no third-party script can join in.
      'content-security-policy':
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; media-src " +
        "'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    };
    if (encoding) headers['content-encoding'] = encoding;
    // A revalidation of an unchanged file (the page and the worker are checked on every load).
    if (etagMatches(req.headers['if-none-match'], chosen.etag)) {
      delete headers['content-length'];
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : chosen.body);
    return true;
  }

  #addFile(base: string, name: string, immutable: boolean): void {
    const full = join(base, name);
    if (!insideBuild(base, full)) return;
    const body = readFileSync(full);
    const encoded = new Map<Encoding, Representation>();
    for (const { name: encoding, suffix, decompress } of ENCODINGS) {
      const copy = `${full}${suffix}`;
      if (!existsSync(copy) || !insideBuild(base, copy)) continue;
      const compressed = readFileSync(copy);
      // Read once at start, so checked once: a copy left from another build is not served.
      if (decompress(compressed).equals(body)) encoded.set(encoding, representation(compressed));
    }
    this.#add(`/${name}`, extname(name), body, immutable, encoded);
  }

  #add(
    path: string,
    ext: string,
    body: Buffer,
    immutable: boolean,
    encoded = new Map<Encoding, Representation>(),
  ): void {
    this.#files.set(path, {
      type: TYPES[ext] ?? 'application/octet-stream',
      immutable,
      identity: representation(body),
      encoded,
    });
  }
}

/** Only regular files inside the build directory (no symlink out of it). */
function insideBuild(base: string, path: string): boolean {
  return realpathSync(path).startsWith(base + sep) && statSync(path).isFile();
}

function representation(body: Buffer): Representation {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** The best encoding the request accepts among those the file has; undefined: the file as is. */
function pickEncoding(acceptEncoding: string | undefined, file: AppFile): Encoding | undefined {
  if (!acceptEncoding || file.encoded.size === 0) return undefined;
  const available = ENCODINGS.map((e) => e.name).filter((name) => file.encoded.has(name));
  return (negotiate(acceptEncoding.toLowerCase(), available) as Encoding | null) ?? undefined;
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
