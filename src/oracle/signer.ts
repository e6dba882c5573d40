import { Signature, type Wallet, type HDNodeWallet } from "ethers";

/**
 * Signs reading digests for the pipeline. Uses libsecp256k1 through the `secp256k1` npm package
 * (native, ~20x faster than JavaScript) when it loads, else ethers' pure-JavaScript signer. Both
 * are RFC 6979 deterministic with a low s, so they give the same signature for the same digest
 * (a test pins that); the contract cannot tell which signed.
 */

interface NativeSecp256k1 {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
}

let native: NativeSecp256k1 | null | undefined;

/** The native binding, or null when it cannot load (no prebuild for this platform, build scripts off). */
export function nativeSecp256k1(): NativeSecp256k1 | null {
  if (native !== undefined) return native;
  if (process.env.GRIDLEDGER_ORACLE_PURE_JS_SIGNER === "1") return (native = null);
  try {
    // The package's `bindings` entry is the native addon only (its index falls back to elliptic, which we do not want).
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    native = require("secp256k1/bindings") as NativeSecp256k1;
  } catch {
    native = null;
  }
  return native;
}

export type DigestSigner = (digestHex: string) => string;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A function that signs a 32-byte digest (0x hex) with the wallet's key: 65-byte r || s || v (27/28) as 0x hex. */
export function digestSigner(wallet: Wallet | HDNodeWallet, options: { pureJs?: boolean } = {}): DigestSigner {
  const lib = options.pureJs ? null : nativeSecp256k1();
  if (!lib) return (digest) => wallet.signingKey.sign(digest).serialized;
  const key = Buffer.from(wallet.privateKey.slice(2), "hex");
  return (digest) => {
    const { signature, recid } = lib.ecdsaSign(Buffer.from(digest.slice(2), "hex"), key);
    let out = "0x";
    for (let i = 0; i < 64; i++) out += HEX[signature[i]];
    return out + HEX[27 + recid];
  };
}

/** Which implementation `digestSigner` uses here (for logs and the bench). */
export function signerKind(): "native" | "javascript" {
  return nativeSecp256k1() ? "native" : "javascript";
}

/** For tests: a signature is the same whichever signed. */
export function sameSignature(a: string, b: string): boolean {
  return Signature.from(a).serialized === Signature.from(b).serialized;
}
