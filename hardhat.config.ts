import * as dotenv from "dotenv";
import { HardhatUserConfig, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_NODE_SERVER_READY } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";
import "hardhat-deploy";
import "hardhat-deploy-ethers";
import * as path from "node:path";
import { printSkipSummary } from "./test/helpers/prereq";

dotenv.config({ quiet: true } as dotenv.DotenvConfigOptions);

/** The one solc version: the config compiles with it and the npm package `solc` must match. */
const SOLC_VERSION = "0.8.28";

// Hardhat cannot download compilers here (and a clean clone must build offline), so the
// compiler is the solc-js build shipped in the npm package `solc`, pinned to SOLC_VERSION.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(async ({ solcVersion }: { solcVersion: string }) => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const solcPackageVersion: string = require("solc/package.json").version;
  if (solcVersion !== solcPackageVersion) {
    throw new Error(
      `solc version mismatch: hardhat.config.ts asks for ${solcVersion} but the npm package "solc" is ` +
        `${solcPackageVersion}. Pin them together: npm install --save-exact --save-dev solc@${solcVersion}`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const solc = require("solc");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: solcVersion,
    longVersion: solc.version() as string,
  };
});

// `npx hardhat node` prints the contracts it deployed and where their records are, so that an
// operator can check them against the CLI and the web app (hardhat-deploy's own log is off).
subtask(TASK_NODE_SERVER_READY).setAction(async (args, hre, runSuper) => {
  await runSuper(args);
  const all = await (hre as unknown as { deployments: { all(): Promise<Record<string, { address: string }>> } }).deployments.all();
  const names = Object.keys(all).sort();
  if (names.length === 0) return;
  const chain = await hre.network.provider.request({ method: "eth_chainId" });
  console.log(`\nGridLedger deployed on chain ${Number(chain)} (records in ${hre.config.paths.deployments}/localhost):`);
  for (const n of names) console.log(`  ${n.padEnd(20)} ${all[n].address}`);
  console.log("");
});

const poaAccounts = process.env.POA_DEPLOYER_KEY ? [process.env.POA_DEPLOYER_KEY] : [];
const poaUrls = (process.env.POA_RPC_URL ?? "http://127.0.0.1:8545").split(",").map((u) => u.trim());

// `npx hardhat node` mines a block every 2 s (and one per transaction), like a real chain: the
// market's clock is block.timestamp, which must move even while nobody sends a transaction.
// The in-process network of tests and the demo keeps pure automine (they move time themselves).
const runningNode = process.argv.slice(2).includes("node");
const nodeBlockMs = Number(process.env.GRIDLEDGER_NODE_BLOCK_MS ?? 2000);

const config: HardhatUserConfig = {
  solidity: {
    compilers: [
      {
        version: SOLC_VERSION,
        settings: {
          // geth's Clique (our private PoA reference chain) stops at London; one bytecode runs everywhere.
          evmVersion: "london",
          // The IR pipeline: about 2-6 % less gas on every hot path than the legacy one, and a
          // smaller market (issue 16; gas-snapshot.json). Compiling takes about twice as long.
          viaIR: true,
          // Optimised for calls rather than size: readings, orders and clearing run far more
          // often than a contract is deployed.
          optimizer: { enabled: true, runs: 10000 },
        },
      },
    ],
    overrides: {
      // The market sits near the 24 KiB code-size limit (EIP-170): runs 200 keeps it at about
      // 22.3 KB with the IR pipeline (runs 10000 would make it 26.9 KB, too large to deploy).
      "contracts/market/EnergyMarket.sol": {
        version: SOLC_VERSION,
        settings: { evmVersion: "london", viaIR: true, optimizer: { enabled: true, runs: 200 } },
      },
      // The auditor's tests deploy this deliberately wrong market (a subclass): same settings.
      "contracts/mocks/FaultyEnergyMarket.sol": {
        version: SOLC_VERSION,
        settings: { evmVersion: "london", viaIR: true, optimizer: { enabled: true, runs: 200 } },
      },
    },
  },
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      hardfork: "london",
      chainId: 31337,
      blockGasLimit: 30_000_000,
      initialBaseFeePerGas: 0,
      allowUnlimitedContractSize: false,
      ...(runningNode && nodeBlockMs > 0 ? { mining: { auto: true, interval: nodeBlockMs } } : {}),
      // Tests that replay past intervals start the node's clock in the past, register the meters
      // there (a meter's readings start at its registration), then move the clock to now.
      ...(process.env.GRIDLEDGER_NODE_INITIAL_DATE ? { initialDate: process.env.GRIDLEDGER_NODE_INITIAL_DATE } : {}),
      // A node keeps chain time = wall clock: without this, Hardhat gives every block a timestamp
      // strictly above the previous one and keeps the bump as its new time offset, so every
      // block mined within the same second as another (a deploy, a keeper's pages, an oracle
      // batch beside an interval block) moved the chain one second ahead for good (43-57 s in
      // 25 minutes, issue 18). Tests and the demo move time themselves and keep strict order.
      ...(runningNode ? { allowBlocksWithSameTimestamp: true } : {}),
    },
    localhost: {
      url: process.env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545",
      chainId: 31337,
    },
    poa: {
      url: poaUrls[0],
      chainId: Number(process.env.POA_CHAIN_ID ?? 1337),
      accounts: poaAccounts,
      gasPrice: process.env.POA_GAS_PRICE_WEI ? Number(process.env.POA_GAS_PRICE_WEI) : "auto",
    },
  },
  namedAccounts: {
    deployer: { default: 0 },
  },
  paths: {
    sources: "contracts",
    tests: "test",
    deploy: "deploy",
    // Deployment records; tests that start their own node point this at a temporary folder.
    deployments: process.env.GRIDLEDGER_DEPLOYMENTS_DIR?.trim() || "deployments",
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: { enabled: process.env.REPORT_GAS === "true" },
  // The root hook lists every skipped test with its reason at the end of the run (issue 21).
  // The spec reporter plus each test file's wall time (the slowest listed at the end).
  mocha: { timeout: 120_000, rootHooks: { afterAll: printSkipSummary }, reporter: path.join(__dirname, "test", "helpers", "timing-reporter.js") },
};

export default config;
