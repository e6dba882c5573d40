// solidity-coverage (`npm run coverage`): contracts/ without the test-only mocks. The test files
// it runs are the contract-level suites only (scripts/coverage.ts), not the daemon/web/e2e ones.
module.exports = {
  skipFiles: ["mocks/"],
  istanbulReporter: ["json-summary", "text", "lcov"],
  configureYulOptimizer: false,
  mocha: { timeout: 600_000 },
};
