import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Network } from "ethers";
import { FailoverJsonRpcProvider, makeProvider } from "../../src/sdk/network";

/** A JSON-RPC node stand-in: answers eth_blockNumber with its own number, counts requests. */
function fakeNode(block: number, opts: { hang?: boolean; revert?: boolean } = {}) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      requests++;
      if (opts.hang) return; // accepts, never answers
      const one = (p: { id: number; method: string }) =>
        opts.revert && p.method === "eth_call"
          ? { jsonrpc: "2.0", id: p.id, error: { code: 3, message: "execution reverted", data: "0x" } }
          : { jsonrpc: "2.0", id: p.id, result: p.method === "eth_chainId" ? "0x539" : "0x" + block.toString(16) };
      const parsed = JSON.parse(body);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(one) : one(parsed)));
    });
  });
  return {
    listen: () => new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
    get requests() { return requests; },
  };
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe("sdk / failover between RPC nodes", () => {
  const network = new Network("poa", 1337n);
  const make = (urls: string[], timeoutMs = 15_000) =>
    new FailoverJsonRpcProvider(urls, network, { staticNetwork: network, cacheTimeout: -1 }, timeoutMs);

  it("makeProvider gives a failover provider for several URLs", () => {
    const p = makeProvider({ name: "poa", chainId: 1337n, urls: ["http://127.0.0.1:1", "http://127.0.0.1:2"] });
    expect(p).to.be.instanceOf(FailoverJsonRpcProvider);
    p.destroy();
  });

  it("moves to the next node when the current one dies, and stays there", async () => {
    const a = fakeNode(1);
    const b = fakeNode(2);
    const p = make([await a.listen(), await b.listen()]);
    expect(await p.getBlockNumber()).to.equal(1);
    await a.close();
    const t = Date.now();
    expect(await p.getBlockNumber()).to.equal(2);
    expect(Date.now() - t).to.be.lessThan(1000);
    expect(p.currentUrl).to.equal(p.urls[1]);
    p.destroy();
    await b.close();
  });

  it("gives up on a node that hangs after the attempt timeout", async () => {
    const a = fakeNode(1, { hang: true });
    const b = fakeNode(2);
    const p = make([await a.listen(), await b.listen()], 300);
    expect(await p.getBlockNumber()).to.equal(2);
    p.destroy();
    await a.close();
    await b.close();
  });

  it("does not ask another node when the answer is a JSON-RPC error", async () => {
    const a = fakeNode(1, { revert: true });
    const b = fakeNode(2);
    const p = make([await a.listen(), await b.listen()]);
    expect(await failure(p.call({ to: "0x" + "11".repeat(20), data: "0x" }))).to.be.instanceOf(Error);
    expect(b.requests).to.equal(0);
    p.destroy();
    await a.close();
    await b.close();
  });

  it("fails with the last error when no node can be reached", async () => {
    const p = make(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    expect(await failure(p.getBlockNumber())).to.be.instanceOf(Error);
    p.destroy();
  });
});
