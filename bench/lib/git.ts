/** The checkout a bench run measured: commit, branch and whether the tree had changes. */
import { execSync } from "node:child_process";

function sh(cmd: string): string {
  try {
    return execSync(cmd, { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "";
  }
}

export function gitInfo(): { commit: string; branch: string; dirty: boolean } {
  return { commit: sh("git rev-parse HEAD"), branch: sh("git rev-parse --abbrev-ref HEAD"), dirty: sh("git status --porcelain") !== "" };
}
