// A no-op `debug`: same shape as debug@4 (createDebug(namespace) -> log function with
// .enabled/.extend/.namespace; createDebug.enable/disable/enabled/...), but logging nothing.
// mqtt-packet calls debug() on every packet it parses or writes; the real package checks
// `enabled` inside each call, which with DEBUG unset still costs a function call with
// arguments (and a formatted object for some calls) per packet.
function noop() {}

function createDebug(namespace) {
  const log = function debug() {};
  log.namespace = String(namespace);
  log.enabled = false;
  log.useColors = false;
  log.color = 0;
  log.diff = 0;
  log.log = noop;
  log.destroy = noop;
  log.extend = (sub, delimiter) => createDebug(log.namespace + (delimiter === undefined ? ':' : delimiter) + sub);
  return log;
}

createDebug.debug = createDebug;
createDebug.default = createDebug;
createDebug.coerce = (val) => (val instanceof Error ? val.stack || val.message : val);
createDebug.disable = () => '';
createDebug.enable = noop;
createDebug.enabled = () => false;
createDebug.humanize = (ms) => `${ms}ms`;
createDebug.names = [];
createDebug.skips = [];
createDebug.formatters = {};
createDebug.selectColor = () => 0;
createDebug.log = noop;
createDebug.inspectOpts = {};

module.exports = createDebug;
