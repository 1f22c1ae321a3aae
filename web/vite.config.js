// The admin console's build (scripts/build.js runs it into dist/web/, which the server serves at
// /). For work on the console, `npx vite web` serves it with hot reload and sends the API and
// sign-in paths to a Pomona on :8080 (`npm start`).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const pomona = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: { chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': pomona, '/console': pomona } },
});
