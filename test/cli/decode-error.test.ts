import { expect } from "chai";
import { artifacts } from "hardhat";
import { AbiCoder, ErrorFragment, getAddress, id, Interface } from "ethers";
import { decodeError, decodeRevertData, ERROR_SENTENCES } from "../../src/sdk/decode-error";
import { ContractRevertError } from "../../src/sdk/errors";
import { ROLES } from "../../src/sdk/roles";

/** Every custom error in every compiled GridLedger ABI (contracts/ only, OpenZeppelin errors included). */
async function errorsInArtifacts(): Promise<Map<string, { signature: string; contracts: string[] }>> {
  const out = new Map<string, { signature: string; contracts: string[] }>();
  for (const fq of await artifacts.getAllFullyQualifiedNames()) {
    if (!fq.startsWith("contracts/")) continue;
    const a = await artifacts.readArtifact(fq);
    for (const f of new Interface(a.abi).fragments) {
      if (f.type !== "error") continue;
      const e = f as ErrorFragment;
      const signature = `${e.name}(${e.inputs.map((i) => `${i.type} ${i.name}`).join(", ")})`;
      const hit = out.get(signature) ?? { signature, contracts: [] };
      hit.contracts.push(a.contractName);
      out.set(signature, hit);
    }
  }
  return out;
}

const A = getAddress("0x00000000000000000000000000000000000000aa");
const M = "0x1111111111111111111111111111111111111111";

describe("contract error sentences", () => {
  it("have a sentence, with the same signature, for every error in every ABI", async () => {
    const found = await errorsInArtifacts();
    expect(found.size).to.be.greaterThan(40);
    const missing = [...found.values()]
      .filter(({ signature }) => ERROR_SENTENCES[signature.split("(")[0]]?.signature !== signature)
      .map(({ signature, contracts }) => `${signature} (in ${contracts.join(", ")})`);
    expect(missing, `add these to ERROR_SENTENCES in src/sdk/decode-error.ts:\n  ${missing.join("\n  ")}`).to.deep.equal([]);
  });

  it("say something for every error with any arguments", async () => {
    const coder = AbiCoder.defaultAbiCoder();
    for (const [name, e] of Object.entries(ERROR_SENTENCES)) {
      const frag = ErrorFragment.from(`error ${e.signature}`);
      const values = frag.inputs.map((p) =>
        p.type === "address" ? M : p.type === "bytes32" ? id("x") : p.type === "string" ? "s" : p.type === "bool" ? true : 1n,
      );
      const data = frag.selector + coder.encode(frag.inputs, values).slice(2);
      const err = decodeRevertData(data);
      expect(err, name).to.be.instanceOf(ContractRevertError);
      expect(err!.errorName).to.equal(name);
      expect(err!.shortMessage, name).to.match(/^[a-z0-9"]/i);
      expect(err!.shortMessage, name).to.not.include("undefined");
    }
  });

  it("name the value at fault in plain words", () => {
    const iface = new Interface(Object.values(ERROR_SENTENCES).map((e) => `error ${e.signature}`));
    const say = (name: string, args: unknown[], contract?: string) => decodeRevertData(iface.encodeErrorResult(name, args), { contract })!.shortMessage;
    expect(say("MarketNotMember", [A])).to.equal(`${A} is not an active member of the community`);
    expect(say("MarketInsufficientDeposit", [M, 1_200_000n, 2_500_000n])).to.equal(`deposit of ${M} is 1.20 credits, 2.50 needed`);
    expect(say("AccessControlUnauthorizedAccount", [A, ROLES.OPERATOR_ROLE])).to.equal(`${A} lacks OPERATOR_ROLE`);
    expect(say("ERC20InsufficientBalance", [M, 500n, 1500n], "EnergyToken")).to.equal(`${M} holds 500 Wh, 1.5 kWh needed`);
    expect(say("RegistryMemberNotActive", [M, 2])).to.equal(`${M} is not an active member (status: suspended)`);
    expect(say("MarketOrderExists", [M, 1, 7n])).to.include("live sell order (id 7)");
  });

  it("finds revert data nested in provider errors and names unreachable nodes", () => {
    const data = new Interface(["error MarketZeroAmount()"]).encodeErrorResult("MarketZeroAmount", []);
    const nested = { code: "CALL_EXCEPTION", info: { error: { code: -32603, data: { data } } } };
    const e = decodeError(nested, { action: "withdraw 0 credits" });
    expect(e).to.be.instanceOf(ContractRevertError);
    expect((e as ContractRevertError).shortMessage).to.equal("withdraw 0 credits: the amount must be greater than 0");
    expect(decodeError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:8545" }).name).to.equal("TransientError");
    const panic = new Interface(["error Panic(uint256)"]).encodeErrorResult("Panic", [0x11]);
    expect(decodeError({ data: panic }).message).to.include("overflow");
  });
});
