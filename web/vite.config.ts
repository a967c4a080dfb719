import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into web/dist, which the Fastify server serves at / (src/server/web-ui.ts).
// In development, `npx vite web` proxies the API to a Switchyard on :8400.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8400" },
  },
});
