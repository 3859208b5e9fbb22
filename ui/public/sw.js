// The app shell's cache. Navigations go to the network first (a new build shows at once) and fall
// back to the cached shell when the hub is unreachable; hashed assets never change, so they come
// from the cache first. The API and WebSockets are never cached: they must be live.
const CACHE = 'hearth-shell-v1';
const SHELL = ['/', '/manifest.webmanifest', '/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (event.request.mode === 'navigate') {
    event.respondWith(
      fetch(event.request)
        .then((res) => {
          const copy = res.clone();
          void caches.open(CACHE).then((cache) => cache.put('/', copy));
          return res;
        })
        .catch(() => caches.match('/')),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith(
      caches.match(event.request).then(
        (hit) =>
          hit ??
          fetch(event.request).then((res) => {
            const copy = res.clone();
            void caches.open(CACHE).then((cache) => cache.put(event.request, copy));
            return res;
          }),
      ),
    );
  }
});

// Web Push (docs/relay-protocol.md "Notifications"): the hub encrypts a JSON payload
// {title, body, level?, ruleId?, at} for this browser's subscription and the relay posts it to the
// push service. Whatever arrives, show something: a push without a visible notification counts
// against the site (userVisibleOnly), and a bad payload must not throw here.
const URGENT = new Set(['alert', 'critical']);

function pushPayload(data) {
  let raw = null;
  try {
    raw = data ? data.json() : null;
  } catch {
    raw = null;
  }
  const payload = raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {};
  const text = (value, fallback) => (typeof value === 'string' && value.trim() ? value.slice(0, 500) : fallback);
  const level = text(payload.level, 'info');
  const ruleId = text(payload.ruleId, null);
  return {
    title: text(payload.title, 'Hearth'),
    body: text(payload.body, 'Something happened at home. Open Hearth to see what.'),
    level,
    ruleId,
    // One notification per rule (a rule that fires again replaces its own); others stack by time.
    tag: text(
      payload.tag,
      ruleId ? `rule:${ruleId}` : `hearth:${typeof payload.at === 'number' ? payload.at : Date.now()}`,
    ),
  };
}

self.addEventListener('push', (event) => {
  let shown;
  try {
    const n = pushPayload(event.data);
    shown = self.registration.showNotification(n.title, {
      body: n.body,
      tag: n.tag,
      icon: '/icon.svg',
      requireInteraction: URGENT.has(n.level),
      data: { level: n.level, ruleId: n.ruleId, path: n.ruleId ? `/rules/${encodeURIComponent(n.ruleId)}` : '/' },
    });
  } catch {
    shown = self.registration.showNotification('Hearth', {
      body: 'Something happened at home. Open Hearth to see what.',
    });
  }
  event.waitUntil(Promise.resolve(shown).catch(() => undefined));
});

// A tap: bring an open app window forward (at the rule's page when the notification names one),
// or open the app there. Routes are hash routes (ui/src/router.ts), so the document stays '/'.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const path = typeof data.path === 'string' && data.path.startsWith('/') ? data.path : '/';
  const target = new URL(`/#${path}`, self.location.origin).href;
  event.waitUntil(
    self.clients
      .matchAll({ type: 'window', includeUncontrolled: true })
      .then(async (windows) => {
        const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
        if (open) {
          // Focus first, while the tap still allows it; navigate() works only for windows this
          // worker controls, so a failure there leaves the focused window where it was.
          const focused = await open.focus();
          if (path !== '/') await (focused || open).navigate(target).catch(() => undefined);
          return;
        }
        return self.clients.openWindow(target);
      })
      .catch(() => undefined),
  );
});
