import { readFileSync } from 'node:fs';

/** The hub's version, from its package.json (one source of truth for health and logs). */
export const HUB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
