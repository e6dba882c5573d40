import pino, { Logger, LoggerOptions } from "pino";

export type { Logger } from "pino";

/** Paths that must never reach a log line, whatever a caller passes in a context object. */
const REDACT = [
  "password",
  "*.password",
  "*.*.password",
  "keystorePassword",
  "*.keystorePassword",
  "privateKey",
  "*.privateKey",
  "mnemonic",
  "*.mnemonic",
];

function defaultLevel(): string {
  if (process.env.LOG_LEVEL) return process.env.LOG_LEVEL;
  // Quiet under mocha (hardhat test sets no LOG_LEVEL): only errors that matter.
  const underTest = typeof (globalThis as { describe?: unknown }).describe === "function";
  return underTest ? "silent" : "info";
}

let root: Logger | undefined;

/** The process-wide root logger (pino, JSON to stdout). Level from `LOG_LEVEL`; silent in tests. */
export function rootLogger(options: LoggerOptions = {}): Logger {
  if (!root) {
    root = pino({ level: defaultLevel(), redact: { paths: REDACT, censor: "[redacted]" }, ...options });
  }
  return root;
}

/** A child logger for one component: every line carries `component`. */
export function componentLogger(component: string, parent?: Logger): Logger {
  return (parent ?? rootLogger()).child({ component });
}
