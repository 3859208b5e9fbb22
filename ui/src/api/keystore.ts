import type { EnrolledDevice } from '@hearth/protocol/client';

/**
 * Where this browser keeps its remote-access identity: one IndexedDB record (device seed, hub id,
 * relay URLs, sealed home key). IndexedDB, not localStorage, because it is per origin like the
 * service worker's cache, survives the "clear site data on close" that some users set for
 * cookies, and is reachable from a service worker (push) later.
 *
 * The seed is stored as bytes the page can read: the shared protocol signs and opens boxes with
 * tweetnacl, which needs the raw key. A non-extractable WebCrypto key (Ed25519/X25519 exist in
 * current browsers) would need the protocol's handshake to become asynchronous; see
 * ui/README.md (the Web UI rules) for that trade-off.
 */
const DB = 'hearth-remote';
const STORE = 'identity';
const KEY = 'device';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = fn(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/** This browser's enrolment, or null when remote access was never enabled here. */
export async function loadDevice(): Promise<EnrolledDevice | null> {
  if (typeof indexedDB === 'undefined') return null;
  try {
    return ((await run('readonly', (s) => s.get(KEY))) as EnrolledDevice | undefined) ?? null;
  } catch {
    return null;
  }
}

export async function saveDevice(device: EnrolledDevice): Promise<void> {
  await run('readwrite', (s) => s.put(device, KEY));
}

export async function forgetDevice(): Promise<void> {
  await run('readwrite', (s) => s.delete(KEY));
}
