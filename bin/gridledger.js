#!/usr/bin/env node
// The `gridledger` command: loads the TypeScript sources with ts-node (transpile only, no type
// check at start-up) and runs src/cli/main.ts.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "..");
require("dotenv").config({ path: path.join(root, ".env"), quiet: true });
require("ts-node").register({
  project: path.join(root, "tsconfig.json"),
  transpileOnly: true,
  compilerOptions: { module: "commonjs" },
});
require(path.join(root, "src", "cli", "main.ts"))
  .run(process.argv.slice(2))
  .then((code) => process.exit(code));
