/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { swaggerDocs } from './scripts/docs-plugin.mjs';

// The app calls `${VITE_API_BASE_URL}/api/...`; empty (the default) means the same origin,
// which is how the gateway serves it. `npm run dev` proxies /api, /openapi and the Swagger UI
// config to a gateway on :8080; /docs itself is built from swagger-ui-dist (scripts/docs-plugin.mjs).
const gateway = process.env.DOCKET_GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), swaggerDocs()],
  server: {
    proxy: {
      '/api': { target: gateway, changeOrigin: false },
      '/openapi': { target: gateway, changeOrigin: false },
      '/docs/swagger-config.json': { target: gateway, changeOrigin: false },
    },
  },
  build: {
    sourcemap: true,
    target: 'es2022',
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
