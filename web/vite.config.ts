import { defineConfig } from "vite";

// Everything is bundled locally: no CDN, the lab works offline.
export default defineConfig({
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0 },
});
