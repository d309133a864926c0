import { defineConfig } from "vite";

// Everything is bundled locally: no CDN, the lab works offline. Workers are ES modules, so that
// the sweep worker can load the engine's WebAssembly the same way the page does.
export default defineConfig({
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0 },
  worker: { format: "es" },
});
