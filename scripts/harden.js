#!/usr/bin/env node
// `npm run harden -- <campaign> [...]`: the long form of hardening campaigns (issue 10) by name;
// with no name, every campaign under test/hardening/. The short forms run in `npm test`.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const dir = path.join(__dirname, "..", "test", "hardening");
const known = fs.readdirSync(dir).filter((f) => f.endsWith(".test.ts")).map((f) => f.replace(/\.test\.ts$/, ""));
const names = process.argv.slice(2);
const unknown = names.filter((n) => !known.includes(n));
if (unknown.length) {
  console.error(`unknown campaign(s): ${unknown.join(", ")}; known: ${known.join(", ")}`);
  process.exit(2);
}
const files = (names.length ? names : known).map((n) => path.join("test", "hardening", `${n}.test.ts`));
const r = spawnSync("npx", ["hardhat", "test", ...files], { stdio: "inherit", env: { ...process.env, GRIDLEDGER_HARDEN: "long" }, cwd: path.join(__dirname, "..") });
process.exit(r.status ?? 1);
