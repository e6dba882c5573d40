import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as net from "node:net";
import { crc16arc, dsmrSource, parseTelegram, sealTelegram, TelegramSplitter } from "../../src/oracle/sources/dsmr";
import type { RawSample, Refusal, SampleSink } from "../../src/oracle/types";
import { waitFor } from "./helpers";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "latin1");

function collector(): SampleSink & { samples: RawSample[]; refusals: Refusal[] } {
  const samples: RawSample[] = [];
  const refusals: Refusal[] = [];
  return { samples, refusals, sample: (s) => (samples.push(s), { status: "accepted", readings: 0 }), refuse: (r) => void refusals.push(r) };
}

describe("oracle / DSMR P1", () => {
  describe("CRC-16/ARC", () => {
    it("gives the catalogued check value 0xBB3D for '123456789'", () => {
      expect(crc16arc("123456789")).to.equal(0xbb3d);
    });
  });

  describe("a DSMR 5.0 telegram", () => {
    it("sums both tariffs into the import and export registers, in Wh", () => {
      const t = parseTelegram(fixture("dsmr5-winter.txt"));
      expect(t.importWhTotal).to.equal(12_345_678n + 23_456_789n);
      expect(t.exportWhTotal).to.equal(123_456n + 234_567n);
      expect(t.registers.import2).to.equal(23_456_789n);
      expect(t.equipmentId).to.equal("E0031003000000123");
      expect(t.header).to.equal("/ISK5\\2M550T-1012");
    });

    it("reads a winter (W) timestamp as UTC+1 and a summer (S) one as UTC+2", () => {
      expect(parseTelegram(fixture("dsmr5-winter.txt")).timestamp).to.equal(Date.parse("2024-01-15T12:30:00+01:00") / 1000);
      expect(parseTelegram(fixture("dsmr5-summer.txt")).timestamp).to.equal(Date.parse("2024-07-15T12:30:00+02:00") / 1000);
    });

    it("honours configured offsets for the DST flag", () => {
      const t = parseTelegram(fixture("dsmr5-summer.txt"), { summerOffsetMinutes: 0 });
      expect(t.timestamp).to.equal(Date.parse("2024-07-15T12:30:00Z") / 1000);
    });
  });

  describe("when the telegram is damaged", () => {
    it("refuses a wrong CRC, naming both checksums", () => {
      const good = fixture("dsmr5-winter.txt");
      const bad = good.replace("1-0:1.8.1(012345.678", "1-0:1.8.1(012345.679");
      expect(() => parseTelegram(bad)).to.throw(/crc: checksum mismatch: telegram says 1461, content gives [0-9A-F]{4}/);
    });

    it("refuses a telegram without a CRC, naming DSMR 2.2/3.0 as unsupported", () => {
      const body = fixture("dsmr5-winter.txt").replace(/![0-9A-F]{4}\r\n$/, "!\r\n");
      expect(() => parseTelegram(body)).to.throw(/crc: no CRC after .!.: a DSMR 2.2\/3.0 .*not supported/);
    });

    it("names the missing OBIS field", () => {
      const body = fixture("dsmr5-winter.txt").replace(/1-0:2\.8\.2\(.*\)\r\n/, "").replace(/![0-9A-F]{4}\r\n$/, "!");
      expect(() => parseTelegram(sealTelegram(body))).to.throw(/1-0:2\.8\.2: missing \(export, tariff 2\)/);
      const noTime = fixture("dsmr5-winter.txt").replace(/0-0:1\.0\.0\(.*\)\r\n/, "").replace(/![0-9A-F]{4}\r\n$/, "!");
      expect(() => parseTelegram(sealTelegram(noTime))).to.throw(/0-0:1\.0\.0: missing \(timestamp\)/);
    });

    it("refuses a timestamp without a DST flag", () => {
      const body = fixture("dsmr5-winter.txt").replace("(240115123000W)", "(240115123000)").replace(/![0-9A-F]{4}\r\n$/, "!");
      expect(() => parseTelegram(sealTelegram(body))).to.throw(/0-0:1\.0\.0: "240115123000" is not a timestamp YYMMDDhhmmssX/);
    });
  });

  describe("a byte stream", () => {
    it("skips a partial telegram at the start and cuts the rest at '!CRC'", () => {
      const s = new TelegramSplitter();
      const data = fixture("dsmr5-stream.txt");
      const out: string[] = [];
      for (let i = 0; i < data.length; i += 37) out.push(...s.push(data.slice(i, i + 37)).telegrams);
      expect(out).to.have.length(3);
      expect(out.map((t) => parseTelegram(t).registers.import1)).to.deep.equal([12_345_678n, 12_345_688n, 12_345_698n]);
      expect(s.skippedBytes).to.be.greaterThan(0);
    });

    it("ends a telegram at its '!' line even when the CRC is garbage, so the next telegram survives", () => {
      const s = new TelegramSplitter();
      const good = fixture("dsmr5-winter.txt");
      const broken = good.replace(/!([0-9A-F]{4})/, "!ZZZZ");
      const { telegrams } = s.push(broken + good);
      expect(telegrams).to.have.length(2);
      expect(() => parseTelegram(telegrams[0])).to.throw(/malformed CRC/);
      expect(parseTelegram(telegrams[1]).registers.import1).to.equal(parseTelegram(good).registers.import1);
    });

    it("reads telegrams from a file and quarantines the corrupt one", async () => {
      const dir = fs.mkdtempSync("/tmp/gl-dsmr-");
      const file = path.join(dir, "p1.txt");
      const tampered = fixture("dsmr5-winter.txt").replace("012345.678", "099999.999");
      fs.writeFileSync(file, fixture("dsmr5-stream.txt") + tampered, "latin1");
      const sink = collector();
      const src = dsmrSource({ port: file });
      await src.start(sink);
      await src.done;
      expect(sink.samples).to.have.length(3);
      expect(sink.samples[0].meterKey).to.equal("E0031003000000123");
      expect(sink.refusals).to.have.length(1);
      expect(sink.refusals[0]).to.include({ source: "dsmr", field: "crc", meterKey: "E0031003000000123" });
    });

    it("reads telegrams from a TCP socket (ser2net / P1 dongle)", async () => {
      const server = net.createServer((sock) => sock.end(fixture("dsmr5-stream.txt")));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      const port = (server.address() as net.AddressInfo).port;
      const sink = collector();
      const src = dsmrSource({ port: `tcp://127.0.0.1:${port}`, meterKey: "p1-kitchen", reconnectMs: 60_000 });
      await src.start(sink);
      await waitFor(() => sink.samples.length === 3, "three telegrams over TCP", 5000);
      await src.stop();
      await new Promise((r) => server.close(r));
      expect(sink.samples.every((s) => s.meterKey === "p1-kitchen")).to.equal(true);
    });
  });
});
