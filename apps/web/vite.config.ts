// Builds the map into dist/ as static files: served by the broadcaster locally, deployable to any static host.
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1500 },
});
