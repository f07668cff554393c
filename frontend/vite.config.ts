import preact from "@preact/preset-vite";
import { defineConfig } from "vitest/config";

// Django serves the build through whitenoise under STATIC_URL; the shell template reads
// dist/.vite/manifest.json to find the hashed file names.
export default defineConfig({
  base: "/static/",
  plugins: [preact({ prefreshEnabled: false })],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    target: "es2022",
    rollupOptions: { input: ["src/main.tsx", "src/manage/main.tsx"] },
  },
  test: {
    environment: "happy-dom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
