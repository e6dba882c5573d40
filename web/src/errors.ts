/** Any wallet, RPC or contract error -> a sentence a person understands. */
import { decodeError } from "@sdk/decode-error";
import { FriendlyError } from "./chain";

export function explain(err: unknown, action: string, contract = "EnergyMarket"): string {
  if (err instanceof FriendlyError) return err.message;
  const e = err as { code?: unknown; info?: { error?: { code?: unknown } }; error?: { code?: unknown } };
  if (e?.code === 4001 || e?.code === "ACTION_REJECTED" || e?.info?.error?.code === 4001 || e?.error?.code === 4001) {
    return `You rejected the request in your wallet, so nothing was sent (${action}).`;
  }
  const d = decodeError(err, { action, contract }) as Error & { name: string; errorName?: string; shortMessage?: string };
  const name = (d as { errorName?: string }).errorName ?? "";
  const text = d.shortMessage ?? d.message;
  if (/MarketInsufficientDeposit/.test(name + text)) return `Insufficient deposit. ${text}. Deposit more credits first.`;
  if (/MarketNotMember/.test(name + text)) return `Not a member: ${text}. Ask the community operator to onboard this wallet.`;
  if (/ERC20InsufficientBalance/.test(name + text)) return `Not enough credits in your wallet: ${text}.`;
  return text.split("\n")[0];
}
