import { BrowserProvider, Eip1193Provider, TransactionRequest } from "ethers";

/**
 * The demo's view of a Hardhat chain (embedded or a node) through its EIP-1193 provider.
 *
 * One difference from a plain provider: gas. A node estimates gas by bisection, running the
 * transaction a dozen times; on the embedded chain that is most of a demo's run time. Here an
 * estimate runs the transaction once (`eth_call`, so a revert still surfaces before sending,
 * with its custom error) and answers a fixed limit, 80 % of the block gas limit (Hardhat
 * automines one transaction per block, and only the gas used is paid). Also: no chain-id
 * check per request and no block-number cache (the demo moves the clock itself).
 */
export class DemoProvider extends BrowserProvider {
  private constructor(
    eip1193: Eip1193Provider,
    chainId: bigint,
    private readonly gasLimit: bigint,
  ) {
    super(eip1193, chainId, { staticNetwork: true, cacheTimeout: -1 });
  }

  static async connect(eip1193: Eip1193Provider): Promise<DemoProvider> {
    const chainId = BigInt((await eip1193.request({ method: "eth_chainId" })) as string);
    const block = (await eip1193.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as { gasLimit: string };
    return new DemoProvider(eip1193, chainId, (BigInt(block.gasLimit) * 8n) / 10n);
  }

  override async estimateGas(tx: TransactionRequest): Promise<bigint> {
    await this.call(tx);
    return this.gasLimit;
  }
}

/**
 * The demo's time. On a Hardhat chain it is simulated: `goTo` sets the next block's timestamp
 * and mines, so a day runs in a minute. On a real chain (a PoA network) time is real: `goTo`
 * waits until the chain's latest block is at or past the target.
 */
export interface Clock {
  readonly kind: "simulated" | "real";
  /** Unix seconds as the chain sees them (the latest `goTo` target or block time). */
  now(): number;
  /** The latest block's timestamp. */
  latest(): Promise<number>;
  /** Moves (simulated) or waits (real) until a block at or past `target` exists. */
  goTo(target: number): Promise<void>;
}

export function simulatedClock(provider: { getBlock(tag: "latest"): Promise<{ timestamp: number } | null>; send(method: string, params: unknown[]): Promise<unknown> }): Clock {
  let now = 0;
  const latest = async () => (await provider.getBlock("latest"))!.timestamp;
  return {
    kind: "simulated",
    now: () => now,
    latest,
    async goTo(target) {
      const l = await latest();
      if (target > l) {
        await provider.send("evm_setNextBlockTimestamp", [target]);
        await provider.send("evm_mine", []);
      }
      now = Math.max(target, l);
    },
  };
}

export function realClock(provider: { getBlock(tag: "latest"): Promise<{ timestamp: number } | null> }, pollMs = 500): Clock {
  let now = 0;
  const latest = async () => (await provider.getBlock("latest"))!.timestamp;
  return {
    kind: "real",
    now: () => now,
    latest,
    async goTo(target) {
      // A chain that stops producing blocks must not hang the demo: give up a minute after
      // the wall clock has passed the target.
      const giveUp = Math.max(Date.now(), target * 1000) + 60_000;
      for (;;) {
        const l = await latest();
        if (l >= target) {
          now = l;
          return;
        }
        if (Date.now() > giveUp) throw new Error(`no block at or after ${new Date(target * 1000).toISOString()}: is the chain producing blocks?`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
  };
}

/** Whether the EIP-1193 provider is a Hardhat chain (it can move its clock and set balances). */
export async function isHardhatChain(eip1193: Eip1193Provider): Promise<boolean> {
  const v = String(await eip1193.request({ method: "web3_clientVersion" }));
  return /hardhat/i.test(v);
}
