/**
 * Contract custom errors -> `ContractRevertError` with a plain sentence that names the value at
 * fault. One table entry per error of every GridLedger ABI (our interfaces and the OpenZeppelin
 * errors our contracts inherit); `test/cli/decode-error.test.ts` lists the errors from the
 * compiled artifacts and fails when one has no sentence or a different signature here.
 */
import { ErrorFragment, Interface, Result, isHexString } from "ethers";
import { ContractRevertError, GridLedgerError, TransientError } from "./errors";
import { roleName } from "./roles";
import { formatCredits, formatEnergy, formatPricePerKWh } from "./units";

/** What the call was about, to format amounts in the right unit. */
export interface DecodeContext {
  /** Contract that reverted (EnergyToken amounts are Wh, CommunityCredit amounts are credits). */
  contract?: string;
  /** What the caller tried, prefixed to the sentence ("deposit 2.50 credits"). */
  action?: string;
}

type Args = Record<string, unknown>;
type Say = (a: Args, ctx: DecodeContext) => string;

const PHASES = ["open", "collecting", "settling", "settled"];
const SIDES = ["buy", "sell"];
const TAGS = ["none", "ask", "bid"];
const MEMBER_STATUS = ["none (never onboarded)", "active", "suspended", "removed", "migrated"];
const MEMBER_KIND = ["none", "consumer", "prosumer", "storage"];

const enumName = (names: string[], v: unknown) => names[Number(v)] ?? `#${String(v)}`;
const credits = (v: unknown) => `${formatCredits(BigInt(v as bigint))} credits`;
const price = (v: unknown) => formatPricePerKWh(BigInt(v as bigint));
/** A token amount in the unit of the contract that reverted. */
const tokenAmount = (v: unknown, ctx: DecodeContext) => {
  const n = BigInt(v as bigint);
  if (ctx.contract === "EnergyToken") return formatEnergy(n);
  if (ctx.contract === "CommunityCredit" || ctx.contract === "EnergyMarket") return credits(n);
  return `${n} base units`;
};
const token = (ctx: DecodeContext) => (ctx.contract === "EnergyToken" ? "energy tokens" : ctx.contract === "CommunityCredit" ? "credits" : "tokens");

/** Signature (as in the ABI, enums as uint8) and sentence of every known error. */
export const ERROR_SENTENCES: Record<string, { signature: string; say: Say }> = {
  // ---- OpenZeppelin AccessControl
  AccessControlUnauthorizedAccount: {
    signature: "AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
    say: (a) => `${a.account} lacks ${roleName(a.neededRole as string)}`,
  },
  AccessControlBadConfirmation: {
    signature: "AccessControlBadConfirmation()",
    say: () => "a role can only be renounced by its holder, for its own address",
  },
  // ---- OpenZeppelin ERC-20 (ERC-6093), permit, ECDSA, nonces, pausing, strings
  ERC20InsufficientBalance: {
    signature: "ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
    say: (a, c) => `${a.sender} holds ${tokenAmount(a.balance, c)}, ${tokenAmount(a.needed, c)} needed`,
  },
  ERC20InsufficientAllowance: {
    signature: "ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
    say: (a, c) => `${a.spender} may spend only ${tokenAmount(a.allowance, c)} (allowance), ${tokenAmount(a.needed, c)} needed: approve it first`,
  },
  FailedCall: {
    signature: "FailedCall()",
    say: () => "one call of a multicall batch failed without a reason",
  },
  AddressEmptyCode: {
    signature: "AddressEmptyCode(address target)",
    say: (a) => `${a.target} has no contract code`,
  },
  ERC20InvalidSender: {
    signature: "ERC20InvalidSender(address sender)",
    say: (a, c) => `${a.sender} may not send ${token(c)}: not an active member of the community (or the zero address)`,
  },
  ERC20InvalidReceiver: {
    signature: "ERC20InvalidReceiver(address receiver)",
    say: (a, c) => `${a.receiver} may not receive ${token(c)}: not an active member of the community (or the zero address)`,
  },
  ERC20InvalidApprover: {
    signature: "ERC20InvalidApprover(address approver)",
    say: (a) => `${a.approver} cannot approve: it is the zero address`,
  },
  ERC20InvalidSpender: {
    signature: "ERC20InvalidSpender(address spender)",
    say: (a) => `${a.spender} cannot be approved as a spender: it is the zero address`,
  },
  ERC2612ExpiredSignature: {
    signature: "ERC2612ExpiredSignature(uint256 deadline)",
    say: (a) => `the permit expired at ${isoTime(a.deadline)} (deadline ${a.deadline}); sign a new one`,
  },
  ERC2612InvalidSigner: {
    signature: "ERC2612InvalidSigner(address signer, address owner)",
    say: (a) => `the permit was signed by ${a.signer}, not by the owner ${a.owner}`,
  },
  ECDSAInvalidSignature: { signature: "ECDSAInvalidSignature()", say: () => "the signature is invalid" },
  ECDSAInvalidSignatureLength: {
    signature: "ECDSAInvalidSignatureLength(uint256 length)",
    say: (a) => `the signature is ${a.length} bytes long, 65 expected`,
  },
  ECDSAInvalidSignatureS: {
    signature: "ECDSAInvalidSignatureS(bytes32 s)",
    say: (a) => `the signature's s value ${a.s} is malleable (upper half of the curve order)`,
  },
  InvalidAccountNonce: {
    signature: "InvalidAccountNonce(address account, uint256 currentNonce)",
    say: (a) => `wrong nonce for ${a.account}: the next nonce is ${a.currentNonce} (already used or signed out of order)`,
  },
  EnforcedPause: { signature: "EnforcedPause()", say: (_a, c) => `${c.contract ?? "the contract"} is paused` },
  ExpectedPause: { signature: "ExpectedPause()", say: (_a, c) => `${c.contract ?? "the contract"} is not paused` },
  InvalidShortString: { signature: "InvalidShortString()", say: () => "a string is too long for a short string" },
  StringTooLong: { signature: "StringTooLong(string str)", say: (a) => `the string "${a.str}" is too long` },
  SafeERC20FailedOperation: {
    signature: "SafeERC20FailedOperation(address token)",
    say: (a) => `a transfer of token ${a.token} failed`,
  },
  // ---- CommunityRegistry
  RegistryInvalidAccount: {
    signature: "RegistryInvalidAccount(address account)",
    say: (a) => `${a.account} is not a usable account (the zero address)`,
  },
  RegistryMemberAlreadyExists: {
    signature: "RegistryMemberAlreadyExists(address member)",
    say: (a) => `${a.member} is or was already a member; wallets are never reused`,
  },
  RegistryMemberUnknown: {
    signature: "RegistryMemberUnknown(address member)",
    say: (a) => `${a.member} was never a member of the community`,
  },
  RegistryMemberNotActive: {
    signature: "RegistryMemberNotActive(address member, uint8 status)",
    say: (a) => `${a.member} is not an active member (status: ${enumName(MEMBER_STATUS, a.status)})`,
  },
  RegistryMemberNotSuspended: {
    signature: "RegistryMemberNotSuspended(address member, uint8 status)",
    say: (a) => `${a.member} is not suspended (status: ${enumName(MEMBER_STATUS, a.status)})`,
  },
  RegistryMemberHasActiveMeters: {
    signature: "RegistryMemberHasActiveMeters(address member, uint32 activeMeters)",
    say: (a) => `${a.member} still owns ${a.activeMeters} active meter(s); retire them first`,
  },
  RegistryInvalidMemberKind: {
    signature: "RegistryInvalidMemberKind(uint8 kind)",
    say: (a) => `member kind ${enumName(MEMBER_KIND, a.kind)} is not usable: use consumer, prosumer or storage`,
  },
  RegistryInvalidMeterId: {
    signature: "RegistryInvalidMeterId(bytes32 meterId)",
    say: (a) => `meter id ${a.meterId} is not usable (zero)`,
  },
  RegistryMeterAlreadyExists: {
    signature: "RegistryMeterAlreadyExists(bytes32 meterId)",
    say: (a) => `meter ${a.meterId} exists or existed; meter ids are never reused`,
  },
  RegistryMeterUnknown: {
    signature: "RegistryMeterUnknown(bytes32 meterId)",
    say: (a) => `meter ${a.meterId} was never registered`,
  },
  RegistryMeterNotActive: {
    signature: "RegistryMeterNotActive(bytes32 meterId)",
    say: (a) => `meter ${a.meterId} is retired`,
  },
  RegistryInvalidMaxPower: {
    signature: "RegistryInvalidMaxPower(uint32 maxPowerW)",
    say: (a) => `max power ${a.maxPowerW} W is not a plausible meter rating (must be above 0)`,
  },
  RegistryMigrationHookExists: {
    signature: "RegistryMigrationHookExists(address hook)",
    say: (a) => `${a.hook} is already a migration hook`,
  },
  RegistryMigrationHookUnknown: {
    signature: "RegistryMigrationHookUnknown(address hook)",
    say: (a) => `${a.hook} is not a migration hook`,
  },
  RegistryMeterHookAlreadySet: {
    signature: "RegistryMeterHookAlreadySet(address current)",
    say: (a) => `the registry's meter hook is already set (to ${a.current}); it is set once, for good`,
  },
  // ---- tokens
  TokenCallerNotRegistry: {
    signature: "TokenCallerNotRegistry(address caller)",
    say: (a) => `${a.caller} is not the community registry; only the registry may move balances on a migration`,
  },
  EnergyTransferDisabled: {
    signature: "EnergyTransferDisabled(address from, address to)",
    say: (a) => `energy tokens cannot be transferred (from ${a.from} to ${a.to})`,
  },
  EnergyBatchLengthMismatch: {
    signature: "EnergyBatchLengthMismatch(uint256 from, uint256 wh)",
    say: (a) => `retire batch has ${a.from} accounts but ${a.wh} amounts`,
  },
  // ---- MeterReadings
  ReadingsInvalidIntervalSeconds: {
    signature: "ReadingsInvalidIntervalSeconds(uint32 intervalSeconds)",
    say: (a) => `interval length ${a.intervalSeconds} s is not usable (must be above 0)`,
  },
  ReadingsDeadlineOutOfRange: {
    signature: "ReadingsDeadlineOutOfRange(uint32 deadlineSeconds, uint32 minSeconds, uint32 maxSeconds)",
    say: (a) => `a reading deadline of ${a.deadlineSeconds} s is outside ${a.minSeconds} s .. ${a.maxSeconds} s`,
  },
  ReadingsMeterNotActive: {
    signature: "ReadingsMeterNotActive(bytes32 meterId)",
    say: (a) => `meter ${a.meterId} is unknown or retired: its registers cannot be reset`,
  },
  ReadingsIntervalNotReady: {
    signature: "ReadingsIntervalNotReady(uint32 interval, uint256 reported, uint256 expected)",
    say: (a) => `interval ${a.interval} is not ready: ${a.reported} of ${a.expected} meters reported and the reading deadline has not passed (or the interval has not ended)`,
  },
  ReadingsNotMeterHook: {
    signature: "ReadingsNotMeterHook(address hook)",
    say: (a) => `this MeterReadings is not the registry's meter hook (${a.hook} is): it cannot keep a copy of the meters`,
  },
  ReadingsMeterUnknown: {
    signature: "ReadingsMeterUnknown(bytes32 meterId)",
    say: (a) => `meter ${a.meterId} is not registered: there is nothing to copy`,
  },
  // ---- EnergyMarket
  MarketNotMember: {
    signature: "MarketNotMember(address account)",
    say: (a) => `${a.account} is not an active member of the community`,
  },
  MarketZeroAmount: { signature: "MarketZeroAmount()", say: () => "the amount must be greater than 0" },
  MarketInsufficientDeposit: {
    signature: "MarketInsufficientDeposit(address member, uint256 available, uint256 needed)",
    say: (a) => `deposit of ${a.member} is ${credits(a.available)}, ${formatCredits(BigInt(a.needed as bigint))} needed`,
  },
  MarketInvalidPrice: {
    signature: "MarketInvalidPrice(uint64 limitPricePerKWh, uint64 maxPricePerKWh)",
    say: (a) => `limit price ${price(a.limitPricePerKWh)} is not accepted: it must be above 0 and at most ${price(a.maxPricePerKWh)}`,
  },
  MarketInvalidIntervalRange: {
    signature: "MarketInvalidIntervalRange(uint32 firstInterval, uint32 lastInterval)",
    say: (a) => `interval range ${a.firstInterval}..${a.lastInterval} is empty: the first interval is after the last`,
  },
  MarketOrderExpired: {
    signature: "MarketOrderExpired(uint32 lastInterval, uint32 nextInterval)",
    say: (a) => `the order's last interval ${a.lastInterval} is before the next interval to clear (${a.nextInterval})`,
  },
  MarketOrderExists: {
    signature: "MarketOrderExists(address member, uint8 side, uint64 orderId)",
    say: (a) => `${a.member} already has a live ${enumName(SIDES, a.side)} order (id ${a.orderId}); update or cancel it`,
  },
  MarketOrderNotFound: {
    signature: "MarketOrderNotFound(address member, uint8 side)",
    say: (a) => `${a.member} has no ${enumName(SIDES, a.side)} order`,
  },
  MarketInvalidTariff: {
    signature: "MarketInvalidTariff(uint64 retailPerKWh, uint64 feedInPerKWh)",
    say: (a) => `tariffs retail ${price(a.retailPerKWh)} / feed-in ${price(a.feedInPerKWh)} are not accepted: retail must be above 0, within the price limit and not below feed-in`,
  },
  MarketTariffNotInFuture: {
    signature: "MarketTariffNotInFuture(uint32 fromInterval, uint32 currentInterval)",
    say: (a) => `a tariff cannot start at interval ${a.fromInterval}: it must be after the current interval ${a.currentInterval}`,
  },
  MarketTariffBeforePending: {
    signature: "MarketTariffBeforePending(uint32 fromInterval, uint32 pendingFromInterval)",
    say: (a) => `a tariff cannot start at interval ${a.fromInterval}: a pending tariff starts at ${a.pendingFromInterval}`,
  },
  MarketSignatureExpired: {
    signature: "MarketSignatureExpired(uint256 deadline)",
    say: (a) => `the signed order expired at ${isoTime(a.deadline)} (deadline ${a.deadline}); sign a new one`,
  },
  MarketInvalidSigner: {
    signature: "MarketInvalidSigner(address member, address recovered)",
    say: (a) => `the signed order for ${a.member} was signed by ${a.recovered}, not by the member`,
  },
  MarketClearingInProgress: {
    signature: "MarketClearingInProgress(uint32 interval, uint8 phase)",
    say: (a) => `interval ${a.interval} is being cleared (phase ${enumName(PHASES, a.phase)}); try again after it is settled`,
  },
  MarketWrongInterval: {
    signature: "MarketWrongInterval(uint32 interval, uint32 nextInterval)",
    say: (a) => `interval ${a.interval} cannot be cleared now: intervals clear in order and the next is ${a.nextInterval}`,
  },
  MarketIntervalNotReady: {
    signature: "MarketIntervalNotReady(uint32 interval)",
    say: (a) => `interval ${a.interval} is not ready: it has not ended or its readings are not all in before the deadline`,
  },
  MarketWrongPhase: {
    signature: "MarketWrongPhase(uint32 interval, uint8 phase)",
    say: (a) => `interval ${a.interval} is in phase ${enumName(PHASES, a.phase)}, which does not allow this step`,
  },
  MarketHintNotParticipant: {
    signature: "MarketHintNotParticipant(uint32 interval, address participant)",
    say: (a) => `hint for interval ${a.interval}: ${a.participant} is not a participant`,
  },
  MarketHintDuplicate: {
    signature: "MarketHintDuplicate(uint32 interval, address participant)",
    say: (a) => `hint for interval ${a.interval}: ${a.participant} appears twice`,
  },
  MarketHintWrongTag: {
    signature: "MarketHintWrongTag(uint32 interval, address participant, uint8 expected, uint8 given)",
    say: (a) => `hint for interval ${a.interval}: ${a.participant} is tagged ${enumName(TAGS, a.given)}, should be ${enumName(TAGS, a.expected)}`,
  },
  MarketHintNotSorted: {
    signature: "MarketHintNotSorted(uint32 interval, address participant)",
    say: (a) => `hint for interval ${a.interval}: ${a.participant} is out of walk order within this page (an earlier page's mistake restarts the collection instead)`,
  },
  MarketHintTooMany: {
    signature: "MarketHintTooMany(uint32 interval, uint32 participants)",
    say: (a) => `hint for interval ${a.interval} lists more than its ${a.participants} participants`,
  },
  MarketEmptyPage: { signature: "MarketEmptyPage(uint32 interval)", say: (a) => `an empty page for interval ${a.interval}` },
  MarketSettleMismatch: {
    signature: "MarketSettleMismatch(uint32 interval, uint32 page, bytes32 expected, bytes32 given)",
    say: (a) => `settlement page ${a.page} of interval ${a.interval} differs from what was collected (hash ${a.given}, expected ${a.expected})`,
  },
  MarketCallerNotRegistry: {
    signature: "MarketCallerNotRegistry(address caller)",
    say: (a) => `${a.caller} is not the community registry`,
  },
  MarketDepositLocked: {
    signature: "MarketDepositLocked(address member, uint32 untilInterval)",
    say: (a) =>
      `the deposit of ${a.member} is locked: it has a buy order in an ended interval not settled yet; try again once interval ${a.untilInterval} is settled`,
  },
  MarketInvalidMinCollectPage: {
    signature: "MarketInvalidMinCollectPage(uint32 minimum, uint32 maxMinimum)",
    say: (a) => `the smallest collect page must be between 1 and ${a.maxMinimum}, not ${a.minimum}`,
  },
  CheckpointUnorderedInsertion: {
    signature: "CheckpointUnorderedInsertion()",
    say: () => "a deposit checkpoint went back in time (the chain clock moved backwards?)",
  },
  SafeCastOverflowedUintDowncast: {
    signature: "SafeCastOverflowedUintDowncast(uint8 bits, uint256 value)",
    say: (a) => `${a.value} does not fit in ${a.bits} bits`,
  },
  MarketPageTooSmall: {
    signature: "MarketPageTooSmall(uint32 interval, uint256 given, uint256 minimum)",
    say: (a) => `a collect page of interval ${a.interval} must list at least ${a.minimum} participants, not ${a.given}`,
  },
};

const PANIC_REASONS: Record<number, string> = {
  0x01: "an assertion failed",
  0x11: "an arithmetic overflow or underflow",
  0x12: "a division by zero",
  0x21: "an invalid enum value",
  0x31: "pop on an empty array",
  0x32: "an array index out of bounds",
  0x41: "too much memory",
  0x51: "a call to an invalid internal function",
};

let iface: Interface | undefined;
/** An Interface holding every known error (plus Error(string) and Panic(uint256), built in). */
export function errorsInterface(): Interface {
  return (iface ??= new Interface(Object.values(ERROR_SENTENCES).map((e) => `error ${e.signature}`)));
}

function isoTime(v: unknown): string {
  const n = Number(v);
  return Number.isFinite(n) && n < 1e11 ? new Date(n * 1000).toISOString() : String(v);
}

/** Revert data (0x + selector...) buried anywhere in an ethers / JSON-RPC / Hardhat error. */
export function findRevertData(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== "object" || depth > 6) return undefined;
  const e = err as Record<string, unknown>;
  for (const key of ["data", "revertData"]) {
    const d = e[key];
    if (typeof d === "string" && isHexString(d) && d.length >= 10) return d;
    if (d && typeof d === "object") {
      const inner = (d as Record<string, unknown>).data;
      if (typeof inner === "string" && isHexString(inner) && inner.length >= 10) return inner;
    }
  }
  for (const key of ["error", "info", "cause", "payload"]) {
    const hit = findRevertData(e[key], depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

function argsObject(fragment: ErrorFragment, result: Result): Args {
  const out: Args = {};
  fragment.inputs.forEach((p, i) => (out[p.name || `arg${i}`] = result[i]));
  return out;
}

/** Decodes raw revert data; undefined when the selector is unknown. */
export function decodeRevertData(data: string, ctx: DecodeContext = {}): ContractRevertError | undefined {
  const selector = data.slice(0, 10).toLowerCase();
  const prefix = ctx.action ? `${ctx.action}: ` : "";
  if (selector === "0x08c379a0" || selector === "0x4e487b71") {
    const parsed = new Interface(["error Error(string)", "error Panic(uint256)"]).parseError(data);
    if (!parsed) return undefined;
    const name = parsed.name;
    const sentence =
      name === "Error"
        ? `the contract refused: ${parsed.args[0]}`
        : `the contract failed with ${PANIC_REASONS[Number(parsed.args[0])] ?? `panic ${parsed.args[0]}`}`;
    return new ContractRevertError(name, { 0: parsed.args[0] }, prefix + sentence, { meta: { contract: ctx.contract } });
  }
  let parsed;
  try {
    parsed = errorsInterface().parseError(data);
  } catch {
    return undefined;
  }
  if (!parsed) return undefined;
  const entry = ERROR_SENTENCES[parsed.name];
  const args = argsObject(parsed.fragment, parsed.args);
  return new ContractRevertError(parsed.name, args, prefix + entry.say(args, ctx), {
    details: `${parsed.name}(${parsed.args.map(String).join(", ")})`,
    meta: { contract: ctx.contract },
  });
}

const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "TIMEOUT", "NETWORK_ERROR", "SERVER_ERROR"]);

/**
 * Any error from a contract call or transaction -> a GridLedgerError: a decoded
 * `ContractRevertError`, a `TransientError` for an unreachable node, or the error itself.
 */
export function decodeError(err: unknown, ctx: DecodeContext = {}): GridLedgerError | Error {
  if (err instanceof GridLedgerError) return err;
  const data = findRevertData(err);
  if (data) {
    const decoded = decodeRevertData(data, ctx);
    if (decoded) return decoded;
    return new ContractRevertError("Unknown", { data }, `${ctx.action ? ctx.action + ": " : ""}the contract reverted with an unknown error ${data.slice(0, 10)}`, { cause: err });
  }
  const e = err as { code?: string; message?: string; shortMessage?: string; error?: { code?: string } };
  const code = e?.code ?? e?.error?.code;
  const msg = String(e?.shortMessage ?? e?.message ?? err);
  if ((code && TRANSIENT_CODES.has(code)) || /ECONNREFUSED|socket hang up|fetch failed|ETIMEDOUT/.test(msg)) {
    return new TransientError(`cannot reach the node (${msg.split("\n")[0]}); is it running and is the RPC URL right?`, { cause: err });
  }
  if (code === "CALL_EXCEPTION") {
    return new ContractRevertError("Unknown", {}, `${ctx.action ? ctx.action + ": " : ""}the transaction reverted without a reason`, { cause: err });
  }
  return err instanceof Error ? err : new Error(msg);
}
