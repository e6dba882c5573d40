#!/usr/bin/env node
// The `gridledger` command: loads the TypeScript sources with ts-node (transpile only, no type
// check at start-up) and runs src/cli/main.ts.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "..");
require("dotenv").config({ path: path.join(root, ".env"), quiet: true });
// SWC transpiles in a fraction of TypeScript's time (start-up ~0.6 s instead of ~2.5 s); where its
// native binary cannot load, TypeScript's own transpiler does the same job.
let swc = true;
try {
  require("@swc/core");
} catch {
  swc = false;
}
require("ts-node").register({
  project: path.join(root, "tsconfig.json"),
  transpileOnly: true,
  swc,
  compilerOptions: { module: "commonjs" },
});
require(path.join(root, "src", "cli", "main.ts"))
  .run(process.argv.slice(2))
  .then((code) => process.exit(code));
