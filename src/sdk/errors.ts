/**
 * One error root for everything GridLedger throws (after viem's BaseError): a short message a
 * person can act on, optional details, the cause, and a stable `code` per subclass.
 */
export interface GridLedgerErrorOptions {
  details?: string;
  cause?: unknown;
  /** Structured context: the meter, field, value... (never secrets). */
  meta?: Record<string, unknown>;
}

export class GridLedgerError extends Error {
  override name = "GridLedgerError";
  readonly code: string = "GRIDLEDGER_ERROR";
  readonly shortMessage: string;
  readonly details?: string;
  readonly meta?: Record<string, unknown>;

  constructor(shortMessage: string, options: GridLedgerErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.meta = options.meta;
  }
}

/** Bad input from a user, a file, a meter or a config: names the field and the reason. */
export class ValidationError extends GridLedgerError {
  override name = "ValidationError" as const;
  override readonly code = "VALIDATION";
  readonly field: string;
  constructor(field: string, reason: string, options: GridLedgerErrorOptions = {}) {
    super(`${field}: ${reason}`, { ...options, meta: { field, ...options.meta } });
    this.field = field;
  }
}

/** Configuration that cannot start a daemon; lists every problem at once. */
export class ConfigError extends GridLedgerError {
  override name = "ConfigError" as const;
  override readonly code = "CONFIG";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

/** A contract reverted with a custom error, decoded with its arguments. */
export class ContractRevertError extends GridLedgerError {
  override name = "ContractRevertError" as const;
  override readonly code = "CONTRACT_REVERT";
  readonly errorName: string;
  readonly args: Record<string, unknown>;
  constructor(errorName: string, args: Record<string, unknown>, sentence: string, options: GridLedgerErrorOptions = {}) {
    super(sentence, { ...options, meta: { errorName, ...options.meta } });
    this.errorName = errorName;
    this.args = args;
  }
}

/** A network, node or disk problem that may go away: the only kind worth retrying. */
export class TransientError extends GridLedgerError {
  override name = "TransientError" as const;
  override readonly code = "TRANSIENT";
}

/** A deployment record is missing for a network. */
export class DeploymentNotFoundError extends GridLedgerError {
  override name = "DeploymentNotFoundError" as const;
  override readonly code = "DEPLOYMENT_NOT_FOUND";
}

export function isGridLedgerError(e: unknown): e is GridLedgerError {
  return e instanceof GridLedgerError;
}

/** The auditor found violations (after printing them): exit code 1 of every `audit` command. */
export class AuditViolationsError extends GridLedgerError {
  override name = "AuditViolationsError" as const;
  override readonly code = "AUDIT_VIOLATIONS";
  readonly count: number;
  constructor(count: number, shortMessage = `the audit found ${count} violation(s)`, options: GridLedgerErrorOptions = {}) {
    super(shortMessage, { ...options, meta: { count, ...options.meta } });
    this.count = count;
  }
}

/** There is no contract at an address the deployment records name (wrong node or network, stale records). */
export class NoContractError extends GridLedgerError {
  override name = "NoContractError" as const;
  override readonly code = "NO_CONTRACT";
}

/**
 * An index (the auditor's database) belongs to another chain or deployment and may not be
 * rebuilt (`--offline`, or rebuilding disabled): the message says which and what to do.
 */
export class ChainMismatchError extends GridLedgerError {
  override name = "ChainMismatchError" as const;
  override readonly code = "CHAIN_MISMATCH";
}
