// Experiment: `--node-flags=--import=./bench/lib/experiments/noop-debug.mjs` resolves the `debug`
// package to a no-op in the broker process, to measure what mqtt-packet's debug() calls on every
// packet cost (bench/README.md, "Experiments").
import { registerHooks } from 'node:module';

const NOOP = new URL('./noop-debug.cjs', import.meta.url).href;

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'debug') return { url: NOOP, format: 'commonjs', shortCircuit: true };
    return next(specifier, context);
  },
});
