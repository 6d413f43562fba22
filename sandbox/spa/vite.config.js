// Builds the sandbox SPA into dist/, which sandbox/cdn.py serves the way CloudFront serves S3.
// `npm run dev` proxies the services to a running sandbox CDN (python runner.py sandbox).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const sandboxCdn = process.env.MG_SANDBOX_CDN ?? "http://127.0.0.1:8100";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: {
    proxy: {
      "/api": { target: sandboxCdn },
      "/socket.io": { target: sandboxCdn, ws: true },
    },
  },
});
