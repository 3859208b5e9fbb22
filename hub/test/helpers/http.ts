import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Small fetch wrappers for end-to-end tests against a running hub. */
export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] = options.contentType ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/**
 * The one-time setup code a fresh hub wrote to its data dir (`DATA/setup-code`), as the person at
 * the hub would read it. Every test that creates the owner through the API takes it from here.
 */
export function readSetupCode(dataDir: string): string {
  return readFileSync(join(dataDir, 'setup-code'), 'utf8').trim();
}

/** Creates the owner on a fresh hub (with the setup code from its data dir); returns an access token. */
export async function setupOwner(
  hub: { baseUrl: string; dataDir: string },
  username = 'owner',
  password = 'correct horse battery',
): Promise<string> {
  const res = await api(hub.baseUrl, 'POST', '/api/v1/setup', {
    body: { username, password, setupCode: readSetupCode(hub.dataDir) },
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken as string;
}
