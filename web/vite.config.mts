import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // The app imports the project's pure SDK modules (../src/sdk); one ethers copy for both.
  resolve: { alias: { ethers: r("./node_modules/ethers/lib.esm/index.js"), "@sdk": r("../src/sdk") } },
  server: { host: "127.0.0.1", fs: { allow: [r("..")] } },
  preview: { host: "127.0.0.1" },
  build: { target: "es2022", chunkSizeWarningLimit: 1200 },
});
