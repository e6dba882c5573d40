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

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO ", 40: "WARN ", 50: "ERROR", 60: "FATAL" };
const COLOURS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };

/**
 * One pino JSON line as a line for people: `06:55:01 INFO  keeper: interval settled interval=12
 * pricePerKWh=150000`. Nested values stay JSON. Falls back to the raw line when it is not JSON.
 */
export function formatLogLine(line: string, colour = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : line + "\n";
  }
  const { level, time, msg, component, pid: _pid, hostname: _host, ...rest } = o;
  const t = typeof time === "number" ? new Date(time).toISOString().slice(11, 19) : "";
  const lv = LEVELS[Number(level)] ?? String(level);
  const head = colour ? `\u001b[${COLOURS[Number(level)] ?? "0"}m${lv}\u001b[0m` : lv;
  const ctx = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${t} ${head} ${component ? `${String(component)}: ` : ""}${String(msg ?? "")}${ctx ? `  ${ctx}` : ""}\n`;
}

/**
 * Where the root logger writes: JSON lines (for log collectors) unless stdout is a terminal, then
 * readable lines. GRIDLEDGER_LOG_FORMAT=json|pretty decides instead.
 */
export function logDestination(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): { write(s: string): void } | undefined {
  const format = env.GRIDLEDGER_LOG_FORMAT?.trim().toLowerCase();
  const pretty = format === "pretty" || (format !== "json" && isTTY);
  if (!pretty) return undefined; // pino's own fast JSON writer to stdout
  const colour = isTTY && !env.NO_COLOR;
  return { write: (s: string) => void process.stdout.write(formatLogLine(s, colour)) };
}

/** The process-wide root logger (pino: JSON on stdout, readable lines on a terminal). Level from `LOG_LEVEL`; silent in tests. */
export function rootLogger(options: LoggerOptions = {}): Logger {
  if (!root) {
    const opts = { level: defaultLevel(), redact: { paths: REDACT, censor: "[redacted]" }, ...options };
    const dest = logDestination(Boolean(process.stdout.isTTY));
    root = dest ? pino(opts, dest) : pino(opts);
  }
  return root;
}

/** A child logger for one component: every line carries `component`. */
export function componentLogger(component: string, parent?: Logger): Logger {
  return (parent ?? rootLogger()).child({ component });
}
