import { Worker } from "node:worker_threads";
import * as os from "node:os";
import type { Wallet, HDNodeWallet } from "ethers";

/**
 * Worker threads that sign reading digests in parallel (libsecp256k1 through the `secp256k1`
 * package in each worker, ethers' JavaScript signer where it cannot load). The pipeline signs the
 * readings a batch of samples will derive here before it opens the batch's transaction; the
 * transaction then only looks the signatures up. Signatures are deterministic (RFC 6979), so a
 * signature made for a sample that is then refused is simply not used.
 */

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
let lib = null;
if (!workerData.pureJs) { try { lib = require(workerData.nativePath); } catch { lib = null; } }
// ethers only where the native addon is missing (loading it costs ~0.3 CPU s a thread).
const SigningKey = lib ? null : require(workerData.ethersPath).SigningKey;
const keys = new Map();
parentPort.postMessage({ ready: true, native: !!lib });
parentPort.on("message", ({ id, address, digests, addKeys, dropKeys }) => {
  if (addKeys) { for (const [a, pk] of addKeys) keys.set(a, { raw: Buffer.from(pk.slice(2), "hex"), js: SigningKey ? new SigningKey(pk) : null }); return; }
  if (dropKeys) { for (const a of dropKeys) keys.delete(a); return; }
  try {
    const k = keys.get(address);
    if (!k) throw new Error("no key for " + address);
    const n = digests.length / 32;
    const out = Buffer.alloc(n * 65);
    for (let i = 0; i < n; i++) {
      const d = digests.subarray(i * 32, i * 32 + 32);
      if (lib) {
        const { signature, recid } = lib.ecdsaSign(d, k.raw);
        out.set(signature, i * 65);
        out[i * 65 + 64] = 27 + recid;
      } else {
        const s = Buffer.from(k.js.sign(d).serialized.slice(2), "hex");
        out.set(s, i * 65);
      }
    }
    parentPort.postMessage({ id, signatures: out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

/**
 * The threads are shared by every pool of the process and live as long as it (unref'd: they never
 * keep it alive): a native addon loaded in a worker must not be unloaded by terminating the worker
 * and loading it again (libsecp256k1's addon crashes the process then). A pool registers its keys
 * with them and removes them on `close`.
 */
interface Shared {
  workers: Worker[];
  ready: Promise<boolean>;
  waiting: Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>;
  pureJs: boolean;
}
let shared: Shared | undefined;
let nextId = 0;

function threads(size: number, pureJs: boolean): Shared {
  if (shared && shared.workers.length >= size && shared.pureJs === pureJs) return shared;
  let nativePath = "";
  try {
    nativePath = require.resolve("secp256k1/bindings");
  } catch {
    nativePath = "";
  }
  const workerData = { nativePath, ethersPath: require.resolve("ethers"), pureJs: pureJs || !nativePath };
  const s: Shared = shared && shared.pureJs === pureJs ? shared : { workers: [], ready: Promise.resolve(true), waiting: new Map(), pureJs };
  const readies: Promise<boolean>[] = [s.ready];
  while (s.workers.length < size) {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData });
    w.unref();
    readies.push(new Promise<boolean>((resolve, reject) => {
      w.once("message", (m: { ready?: boolean; native?: boolean }) => (m.ready ? resolve(!!m.native) : undefined));
      w.once("error", reject);
    }));
    w.on("message", (m: { id?: number; signatures?: Uint8Array; error?: string }) => {
      if (m.id === undefined) return;
      const p = s.waiting.get(m.id);
      if (!p) return;
      s.waiting.delete(m.id);
      if (m.error) p.reject(new Error(`signer thread: ${m.error}`));
      else p.resolve(Buffer.from(m.signatures!.buffer, m.signatures!.byteOffset, m.signatures!.byteLength));
    });
    w.on("error", (e) => {
      for (const [id, p] of s.waiting) (s.waiting.delete(id), p.reject(e));
    });
    s.workers.push(w);
  }
  s.ready = Promise.all(readies).then((r) => r.every(Boolean));
  s.ready.catch(() => undefined);
  shared = s;
  return s;
}

export class SignerPool {
  private readonly s: Shared;
  private readonly addresses: string[];
  private next = 0;
  private closed = false;
  readonly size: number;
  /** Resolves once every thread has loaded its signer. */
  readonly ready: Promise<void>;
  /** Whether the threads sign with the native addon (known once `ready`). */
  native = false;

  constructor(keys: Map<string, Wallet | HDNodeWallet>, options: { threads?: number; pureJs?: boolean } = {}) {
    this.size = Math.max(1, options.threads ?? Math.min(2, os.cpus().length));
    const pureJs = !!options.pureJs || process.env.GRIDLEDGER_ORACLE_PURE_JS_SIGNER === "1";
    this.s = threads(this.size, pureJs);
    const addKeys = [...keys].map(([a, w]) => [a.toLowerCase(), w.privateKey]);
    this.addresses = addKeys.map(([a]) => a);
    for (const w of this.s.workers) w.postMessage({ addKeys });
    this.ready = this.s.ready.then((n) => void (this.native = n));
  }

  /** Signs 0x-hex digests with `address`'s key, spread over the threads; 0x-hex 65-byte signatures in order. */
  async sign(address: string, digests: string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    if (this.closed) throw new Error("signer pool closed");
    await this.ready;
    const per = Math.ceil(digests.length / this.size);
    const parts: Promise<Buffer>[] = [];
    for (let k = 0; k < digests.length; k += per) {
      const chunk = digests.slice(k, k + per);
      const buf = Buffer.alloc(chunk.length * 32);
      chunk.forEach((d, i) => buf.write(d.slice(2), i * 32, 32, "hex"));
      const id = nextId++;
      const w = this.s.workers[this.next++ % this.size];
      parts.push(new Promise<Buffer>((resolve, reject) => {
        this.s.waiting.set(id, { resolve, reject });
        w.postMessage({ id, address: address.toLowerCase(), digests: buf });
      }));
    }
    const out: string[] = [];
    for (const b of await Promise.all(parts)) for (let i = 0; i < b.length; i += 65) out.push("0x" + b.subarray(i, i + 65).toString("hex"));
    return out;
  }

  /** Forgets this pool's keys in the threads (which stay for the next pool of the process). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.s.workers) w.postMessage({ dropKeys: this.addresses });
  }
}
