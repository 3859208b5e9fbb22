import WebSocket from 'ws';

/** A test client of a hub WebSocket: every message it got, in order, and how it closed. */
export interface Client {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  /** Resolves with the first message of `type` (already received or still to come). */
  next(type: string, match?: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

export function connect(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Client {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  const messages: Record<string, unknown>[] = [];
  const waiters: {
    type: string;
    match: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }[] = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    messages.push(message);
    for (const w of [...waiters]) {
      if (w.type === message.type && w.match(message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return {
    ws,
    messages,
    closed,
    next(type, match = () => true) {
      const seen = messages.find((m) => m.type === type && match(m));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ type, match, resolve }));
    },
  };
}
