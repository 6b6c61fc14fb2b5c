// The console's build: web/ → web/dist (index.html and content-hashed files under assets/), served by the
// service's console plugin. scripts/build-web.ts runs it with root web/; `npx vite build web` does the same.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  // Absolute asset URLs: index.html is also served for deep links such as /some/path.
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // Never inline assets as data: URLs into scripts or styles; every file stays a same-origin URL (CSP).
    assetsInlineLimit: 0,
    // The service's CSP allows only same-origin scripts: Vite's module preload polyfill is bundled, not inline.
    modulePreload: { polyfill: true },
  },
});
