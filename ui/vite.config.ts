import { defineConfig } from 'vite';
import { precompress } from './build-plugins/precompress.ts';

// JSX goes through Preact's automatic runtime; no plugin needed for that. The hub serves dist/,
// with the brotli and gzip copies precompress() writes next to each file.
export default defineConfig({
  plugins: [precompress()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
