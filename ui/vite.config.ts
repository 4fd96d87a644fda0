// Vite builds the UI into ui/dist, which the Tauri binary embeds; Vitest runs
// the UI's unit tests in happy-dom, where Tauri's IPC is mocked per test.
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tauri serves the built files from its own origin: keep paths relative.
  base: "./",
  clearScreen: false,
  server: { port: 5173, strictPort: true, host: "127.0.0.1" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.40+ (Debian 12 and later) runs ES2021.
    target: "es2021",
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts"],
  },
});
