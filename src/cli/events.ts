/** Event scans from a contract's deployment block, in chunks a public or PoA node accepts. */
import type { BaseContract, ContractEventName, EventLog, Log } from "ethers";

const CHUNK = 50_000;

export async function queryAll(contract: BaseContract, filter: ContractEventName, fromBlock: number): Promise<EventLog[]> {
  const provider = contract.runner?.provider;
  const latest = provider ? await provider.getBlockNumber() : fromBlock + CHUNK;
  const out: EventLog[] = [];
  for (let start = fromBlock; start <= latest; start += CHUNK) {
    const end = Math.min(latest, start + CHUNK - 1);
    const logs = await contract.queryFilter(filter, start, end);
    for (const l of logs as (EventLog | Log)[]) if ("args" in l) out.push(l);
  }
  return out;
}
