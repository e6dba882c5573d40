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
