/**
 * `npm run demo`: deploys GridLedger on the embedded Hardhat chain, onboards a small
 * community with meters, and prints the addresses and who holds which role.
 */
import hre from "hardhat";
import { id } from "ethers";
import { ROLES, RoleName } from "../src/sdk/roles";

async function main(): Promise<void> {
  const { deployments, ethers, network } = hre;
  console.log(`GridLedger demo on network "${network.name}"\n`);
  await deployments.fixture(["core"]);
  const [operator, ...people] = await ethers.getSigners();
  const registry = await ethers.getContractAt("CommunityRegistry", (await deployments.get("CommunityRegistry")).address);

  const households = [
    { name: "Ada (PV 6 kWp)", kind: 2 },
    { name: "Ben (PV 4 kWp)", kind: 2 },
    { name: "Cleo", kind: 1 },
    { name: "Dev", kind: 1 },
  ];
  for (const [i, h] of households.entries()) {
    const wallet = people[i];
    await (await registry.connect(operator).onboardMember(wallet.address, h.kind, id(`identity:${h.name}`))).wait();
    await (
      await registry.connect(operator).registerMeter(id(`meter:${h.name}`), wallet.address, wallet.address, 10_000, 1)
    ).wait();
  }

  console.log("Contracts");
  for (const name of ["CommunityRegistry", "EnergyToken", "CommunityCredit", "MeterReadings"]) {
    console.log(`  ${name.padEnd(20)} ${(await deployments.get(name)).address}`);
  }
  console.log("\nRoles");
  const holders = new Map<string, string[]>();
  for (const acct of [operator.address, (await deployments.get("MeterReadings")).address]) {
    for (const role of Object.keys(ROLES) as RoleName[]) {
      if (await registry.hasRole(ROLES[role], acct)) holders.set(role, [...(holders.get(role) ?? []), acct]);
    }
  }
  for (const [role, accounts] of holders) console.log(`  ${role.padEnd(20)} ${accounts.join(", ")}`);
  console.log("\nMembers");
  for (const [i, h] of households.entries()) {
    const m = await registry.memberOf(people[i].address);
    console.log(`  ${h.name.padEnd(16)} ${people[i].address}  ${m.kind === 2n ? "prosumer" : "consumer"}  meters: ${m.activeMeters}`);
  }
  console.log(`\n${await registry.activeMemberCount()} members, ${await registry.activeMeterCount()} meters.`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
