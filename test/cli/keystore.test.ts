import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Wallet } from "ethers";
import { findWallet, listWallets, saveWallet, unlockWallet, WrongPasswordError } from "../../src/cli/keystore";
import { ValidationError } from "../../src/sdk/errors";

describe("keystore", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gl-ks-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("round-trips a wallet through an encrypted keystore v3 file, found by name or address", async () => {
    const w = Wallet.createRandom();
    const entry = await saveWallet(dir, w, "correct horse", "alice", 1024);
    const json = JSON.parse(fs.readFileSync(entry.file, "utf8"));
    expect(json.version).to.equal(3);
    expect(fs.readFileSync(entry.file, "utf8")).to.not.include(w.privateKey.slice(2));
    expect((fs.statSync(entry.file).mode & 0o777).toString(8)).to.equal("600");
    expect(listWallets(dir)).to.deep.equal([{ name: "alice", address: w.address, file: entry.file }]);
    const byName = await unlockWallet(findWallet(dir, "alice"), "correct horse");
    const byAddress = await unlockWallet(findWallet(dir, w.address.toLowerCase()), "correct horse");
    expect(byName.privateKey).to.equal(w.privateKey);
    expect(byAddress.address).to.equal(w.address);
  });

  it("says the password is wrong, and names the wallet", async () => {
    const w = Wallet.createRandom();
    await saveWallet(dir, w, "right", "bob", 1024);
    try {
      await unlockWallet(findWallet(dir, "bob"), "wrong");
      expect.fail("unlocked with a wrong password");
    } catch (e) {
      expect(e).to.be.instanceOf(WrongPasswordError);
      expect((e as Error).message).to.equal(`wrong password for wallet bob (${w.address})`);
    }
  });

  it("refuses to overwrite a name or store an address twice, and names unknown wallets", async () => {
    const w = Wallet.createRandom();
    await saveWallet(dir, w, "pw", "carol", 1024);
    await expectReject(saveWallet(dir, Wallet.createRandom(), "pw", "carol", 1024), /already exists/);
    await expectReject(saveWallet(dir, w, "pw", "carol2", 1024), /already in the keystore/);
    await expectReject(saveWallet(dir, Wallet.createRandom(), "", "dave", 1024), /password: must not be empty/);
    expect(() => findWallet(dir, "nobody")).to.throw(ValidationError, /no wallet "nobody".*known: carol/);
  });
});

async function expectReject(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect((e as Error).message).to.match(re);
    return;
  }
  expect.fail(`expected a rejection matching ${re}`);
}
