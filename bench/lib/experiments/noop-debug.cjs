// A no-op stand-in for the `debug` package (see noop-debug.mjs).
module.exports = function createDebug() {
  const debug = function () {};
  debug.enabled = false;
  debug.extend = createDebug;
  return debug;
};
