import { expect } from "chai";
import pino from "pino";
import { formatLogLine, logDestination } from "../../src/sdk/logger";

describe("sdk / logger: readable on a terminal, JSON otherwise (issue 18)", () => {
  it("writes JSON when stdout is not a terminal, readable lines when it is, and obeys GRIDLEDGER_LOG_FORMAT", () => {
    expect(logDestination(false, {})).to.equal(undefined);
    expect(logDestination(true, {})).to.not.equal(undefined);
    expect(logDestination(true, { GRIDLEDGER_LOG_FORMAT: "json" })).to.equal(undefined);
    expect(logDestination(false, { GRIDLEDGER_LOG_FORMAT: "pretty" })).to.not.equal(undefined);
  });

  it("formats a pino line as time, level, component, message and context", () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(s) }).child({ component: "keeper" });
    log.info({ interval: 12, pricePerKWh: "150000", note: "two words" }, "interval settled");
    const out = formatLogLine(lines[0]);
    expect(out).to.match(/^\d\d:\d\d:\d\d INFO  keeper: interval settled {2}interval=12 pricePerKWh=150000 note="two words"\n$/);
    expect(out).to.not.contain("hostname");
    expect(formatLogLine("not json")).to.equal("not json\n");
  });
});
