/** The part of mqemitter (aedes' message router) that starts the delivery of one message. */
export interface RouterDo {
  _do(message: unknown, callback: unknown): unknown;
}

/**
 * mqemitter delivers at most `concurrency` messages at a time and queues the rest. When the
 * last subscriber of a message completes, its `released` takes the next queued message and calls
 * `_do` for it from inside that completion. A subscriber that completes synchronously (the hub's
 * own subscriptions, a topic nobody subscribes to, a QoS 0 message a client may not get) makes
 * that a recursion: `_do` → deliver → done → released → `_do` … once per queued message. Under a
 * flood of thousands of queued messages the stack overflowed (RangeError: Maximum call stack size
 * exceeded) and took the hub down (issue 12).
 *
 * This turns the recursion into a loop: a `_do` reached while another runs further up the stack
 * only queues its message, and the outermost one delivers the queued messages in order, so the
 * stack stays a few frames deep whatever the backlog. Order and mqemitter's own accounting
 * (`current`, `_doing`) are unchanged: every message still goes through the original `_do`, just
 * not nested. At most `concurrency` messages can wait here (each holds one of its slots).
 */
export function flattenDelivery(router: RouterDo): void {
  const run = router._do;
  /** Messages and their callbacks, in pairs, waiting for the running loop. */
  let waiting: unknown[] = [];
  let head = 0;
  let running = false;

  const drain = (self: unknown): void => {
    running = true;
    try {
      while (head < waiting.length) {
        const message = waiting[head];
        const callback = waiting[head + 1];
        waiting[head] = waiting[head + 1] = undefined;
        head += 2;
        run.call(self, message, callback);
      }
      waiting = [];
      head = 0;
    } finally {
      running = false;
      // A delivery threw (it reaches the caller as before): the messages behind it still go.
      if (head < waiting.length) {
        waiting = waiting.slice(head);
        head = 0;
        setImmediate(() => {
          if (!running) drain(self);
        });
      }
    }
  };

  router._do = function flatDo(this: unknown, message: unknown, callback: unknown) {
    waiting.push(message, callback);
    if (!running) drain(this);
    return this;
  };
}
