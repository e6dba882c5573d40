import { isError } from "ethers";
import { TransientError, ValidationError, ContractRevertError } from "./errors";

export interface RetryOptions {
  /** Extra attempts after the first one (default 5). */
  retries?: number;
  /** First delay in ms (default 200); doubles each attempt. */
  baseMs?: number;
  /** Upper bound of one delay in ms (default 10 000). */
  maxMs?: number;
  /** Which errors are worth another attempt (default `isTransientError`). */
  isTransient?: (e: unknown) => boolean;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
  /** Aborts the waits (graceful stop). */
  signal?: AbortSignal;
}

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "SQLITE_BUSY",
]);

const TRANSIENT_MESSAGES = [
  /nonce (is )?too low/i,
  /nonce has already been used/i,
  /replacement (transaction )?underpriced/i,
  /already known/i,
  /known transaction/i,
  /timeout/i,
  /timed out/i,
  /socket hang up/i,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT/,
  /header not found/i,
  /missing response/i,
  /failed to detect network/i,
];

/**
 * Whether an error may go away by itself: a TransientError, a network error (connection
 * refused, reset, timeout), or a nonce race. Never a revert (CALL_EXCEPTION) and never a
 * ValidationError or ContractRevertError.
 */
export function isTransientError(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  if (e instanceof ValidationError || e instanceof ContractRevertError) return false;
  if (isError(e, "CALL_EXCEPTION") || isError(e, "INVALID_ARGUMENT") || isError(e, "INSUFFICIENT_FUNDS")) return false;
  if (isError(e, "NETWORK_ERROR") || isError(e, "TIMEOUT") || isError(e, "SERVER_ERROR")) return true;
  if (isError(e, "NONCE_EXPIRED") || isError(e, "REPLACEMENT_UNDERPRICED")) return true;
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    const err = cur as { code?: unknown; message?: unknown; cause?: unknown; error?: unknown };
    if (typeof err.code === "string" && TRANSIENT_CODES.has(err.code)) return true;
    if (typeof err.message === "string" && TRANSIENT_MESSAGES.some((re) => re.test(err.message as string))) return true;
    cur = err.cause ?? err.error;
  }
  return false;
}

/** The delay before attempt `attempt` (1-based): full jitter over an exponential ceiling. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `fn`, and again after an exponential, jittered wait when it fails with a transient
 * error, up to `retries` more times. Anything else (a revert, bad input) is thrown at once.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retries = 5, baseMs = 200, maxMs = 10_000, isTransient = isTransientError, onRetry, signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt > retries || !isTransient(e) || signal?.aborted) throw e;
      const delay = backoffDelay(attempt, baseMs, maxMs);
      onRetry?.(e, attempt, delay);
      await sleep(delay, signal);
    }
  }
}
