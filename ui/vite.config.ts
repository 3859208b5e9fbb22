import { defineConfig } from 'vite';

// JSX goes through Preact's automatic runtime; no plugin needed for that. The hub serves dist/.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
