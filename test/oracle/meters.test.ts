/**
 * Issue 19, items 1-6: real meter output the parsers used to get wrong. Each test failed before
 * the fix (the reason in its name). Telegrams are from test/oracle/fixtures/corpus (see its README);
 * where a source's CRC does not match its content, the test re-seals it and says so.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { dsmrSource, ingestTelegram, parseTelegram, sealTelegram, TelegramSplitter } from "../../src/oracle/sources/dsmr";
import { parseMqttMessage, subscriptions, tasmotaTopic } from "../../src/oracle/sources/mqtt";
import { localToUnix } from "../../src/oracle/timezone";
import type { RawSample, Refusal, SampleSink } from "../../src/oracle/types";
import { tmpDir } from "./helpers";

const corpus = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", "corpus", "dsmr", name), "latin1").replace(/\r?\n/g, "\r\n");
/** A corpus telegram with its CRC recomputed (synthetic: for sources whose CRC does not match their content). */
const resealed = (name: string) => sealTelegram(corpus(name).slice(0, corpus(name).lastIndexOf("!") + 1));
const real = (name: string) => corpus(name).replace(/\r\n$/, "") + "\r\n";

function collector(): SampleSink & { samples: RawSample[]; refusals: Refusal[] } {
  const samples: RawSample[] = [];
  const refusals: Refusal[] = [];
  return { samples, refusals, sample: (s) => (samples.push(s), { status: "accepted", readings: 0 }), refuse: (r) => void refusals.push(r) };
}

describe("oracle / real meters (issue 19)", () => {
  describe("1. meters that report only the total registers 1-0:1.8.0 / 1-0:2.8.0", () => {
    it("reads a Luxembourg Smarty telegram's totals (was: '1-0:1.8.1: missing')", () => {
      const t = parseTelegram(resealed("lu-smarty-sagemcom-spec.txt"), { timeZone: "Europe/Luxembourg" });
      expect(t.importWhTotal).to.equal(25_653n);
      expect(t.exportWhTotal).to.equal(40n);
      expect(t.totals).to.equal("registers");
    });

    it("prefers the meter's own total to the sum of its tariffs, and reads Wh units (Estonian Sagemcom T210-D, real CRC)", () => {
      const t = parseTelegram(real("ee-sagemcom-t210dr-wh-ndokter.txt"), { timeZone: "Europe/Tallinn" });
      expect(t.importWhTotal).to.equal(6_545_766n);
      expect(t.exportWhTotal).to.equal(58n);
    });

    it("still names the missing register when neither the total nor the tariffs are there", () => {
      const body = resealed("lu-smarty-sagemcom-spec.txt").replace(/1-0:2\.8\.0\(.*\)\r\n/, "").replace(/![0-9A-F]{4}\r\n$/, "!");
      expect(() => parseTelegram(sealTelegram(body), { timeZone: "Europe/Luxembourg" })).to.throw(/1-0:2\.8\.0: missing \(export: neither the total/);
    });
  });

  describe("2. an equipment id only on 0-0:42.0.0", () => {
    it("takes the hex-encoded COSEM logical device name as the meter key (was: refused for a missing id)", () => {
      const sink = collector();
      ingestTelegram(sink, resealed("lu-smarty-sagemcom-spec.txt"), { port: "test", timeZone: "Europe/Luxembourg" });
      expect(sink.refusals).to.deep.equal([]);
      expect(sink.samples[0].meterKey).to.equal("SAG1030790002574");
    });
  });

  describe("3. a replay file whose last telegram has no line break after !CRC", () => {
    it("keeps that telegram (was: 'stream ended inside a telegram')", async () => {
      const file = path.join(tmpDir("gl-dsmr-eof-"), "p1.txt");
      const a = real("nl-dsmr50-iskra-am550-athom.txt");
      const b = real("nl-dsmr42-kaifa-ndokter.txt").replace(/\r\n$/, "");
      fs.writeFileSync(file, a + b, "latin1");
      const sink = collector();
      const src = dsmrSource({ port: file, timeZone: "Europe/Amsterdam" });
      await src.start(sink);
      await src.done;
      expect(sink.refusals).to.deep.equal([]);
      expect(sink.samples.map((s) => s.importWhTotal)).to.deep.equal([3_808_351n + 2_948_827n, 1_581_123n + 1_435_706n]);
    });

    it("still refuses a stream that really ends inside a telegram", () => {
      const s = new TelegramSplitter();
      s.push(real("nl-dsmr42-kaifa-ndokter.txt").slice(0, 200));
      const end = s.end();
      expect(end.telegrams).to.deep.equal([]);
      expect(end.rest.length).to.equal(200);
    });
  });

  describe("4. a Tasmota FullTopic other than %prefix%/%topic%/", () => {
    const payload = JSON.stringify({ Time: "2024-01-15T12:00:00", ENERGY: { Total: 12.345, TotalExport: 1.5 } });

    it("reads a device whose FullTopic is a configured template (was: dropped at debug level)", () => {
      const tpl = tasmotaTopic("site/garage/%topic%/%prefix%/");
      expect(tpl.subscription).to.equal("site/garage/+/tele/SENSOR");
      const r = parseMqttMessage("site/garage/tasmota_B2/tele/SENSOR", payload, { tasmotaFullTopics: [tpl] }) as { samples: RawSample[] };
      expect(r.samples[0]).to.include({ meterKey: "tasmota_B2", importWhTotal: 12_345n, exportWhTotal: 1_500n });
      expect(subscriptions({ url: "mqtt://x", tasmotaFullTopics: [tpl] })).to.include("site/garage/+/tele/SENSOR");
    });

    it("reads a device by the exact topic given for its meter", () => {
      const topicMeters = new Map([["odd/layout/SENSOR", "meter-7"]]);
      const r = parseMqttMessage("odd/layout/SENSOR", payload, { topicMeters }) as { samples: RawSample[] };
      expect(r.samples[0].meterKey).to.equal("meter-7");
      expect(subscriptions({ url: "mqtt://x", topicMeters })).to.include("odd/layout/SENSOR");
    });

    it("keeps the default layout tele/<topic>/SENSOR", () => {
      const r = parseMqttMessage("tele/tasmota_A1/SENSOR", payload) as { samples: RawSample[] };
      expect(r.samples[0].meterKey).to.equal("tasmota_A1");
    });
  });

  describe('5. older Tasmota firmware: "Total": [total, tariff1, tariff2]', () => {
    it("takes the first value as the total (was: the sum, twice the energy)", () => {
      const r = parseMqttMessage("tele/old_fw/SENSOR", JSON.stringify({ Time: "2020-03-01T10:00:00", ENERGY: { Total: [1234.567, 1000.0, 234.567], Power: 80 } })) as { samples: RawSample[] };
      expect(r.samples[0].importWhTotal).to.equal(1_234_567n);
    });

    it("refuses an array that cannot be [total, t1, t2] (per-phase totals), naming SetOption129", () => {
      expect(() => parseMqttMessage("tele/x/SENSOR", JSON.stringify({ Time: "2020-03-01T10:00:00", ENERGY: { Total: [1.0, 2.0, 3.0] } }))).to.throw(/ENERGY\.Total: .*SetOption129/);
    });
  });

  describe("6. time zones and Shelly Gen2+ switches", () => {
    it("reads a DSMR time with the meter's IANA zone, the S/W flag checked against it (was: fixed +1/+2 offsets)", () => {
      // Helsinki is UTC+2 in winter, UTC+3 in summer: the Dutch offsets were an hour off all year.
      const t = parseTelegram(real("nl-dsmr50-iskra-am550-athom.txt"), { timeZone: "Europe/Helsinki" });
      expect(t.timestamp).to.equal(Date.parse("2018-11-06T14:04:29+02:00") / 1000);
    });

    it("refuses a flag that contradicts the zone, and with dstFlag 'ignore' trusts the zone (an Irish meter saying S in February)", () => {
      const body = real("nl-dsmr50-iskra-am550-athom.txt").replace("181106140429W", "240210120000S").replace(/![0-9A-F]{4}\r\n$/, "!");
      const telegram = sealTelegram(body); // synthetic: the flag changed, CRC recomputed
      expect(() => parseTelegram(telegram, { timeZone: "Europe/Dublin" })).to.throw(/0-0:1\.0\.0: "240210120000S" says summer \(S\) time but Europe\/Dublin is on winter time/);
      expect(parseTelegram(telegram, { timeZone: "Europe/Dublin", dstFlag: "ignore" }).timestamp).to.equal(Date.parse("2024-02-10T12:00:00Z") / 1000);
    });

    it("uses the flag for the hour that occurs twice when the clocks go back", () => {
      const at = (flag: string) => parseTelegram(sealTelegram(real("nl-dsmr50-iskra-am550-athom.txt").replace("181106140429W", `241027023000${flag}`).replace(/![0-9A-F]{4}\r\n$/, "!")), { timeZone: "Europe/Amsterdam" }).timestamp;
      expect(at("S")).to.equal(Date.parse("2024-10-27T02:30:00+02:00") / 1000);
      expect(at("W")).to.equal(Date.parse("2024-10-27T02:30:00+01:00") / 1000);
    });

    it("reads a Tasmota local Time with the meter's zone, summer and winter", () => {
      const meterTime = () => ({ timeZone: "Europe/Amsterdam" });
      const at = (time: string) => (parseMqttMessage("tele/t1/SENSOR", JSON.stringify({ Time: time, ENERGY: { Total: 1 } }), { meterTime }) as { samples: RawSample[] }).samples[0].timestamp;
      expect(at("2024-07-01T12:00:00")).to.equal(Date.parse("2024-07-01T10:00:00Z") / 1000);
      expect(at("2024-01-01T12:00:00")).to.equal(Date.parse("2024-01-01T11:00:00Z") / 1000);
      expect(() => localToUnix("Europe/Amsterdam", { year: 2024, month: 3, day: 31, hour: 2, minute: 30, second: 0 }, "Time")).to.throw(/does not exist in Europe\/Amsterdam/);
    });

    it("reads a Shelly Gen2+ switch's aenergy and ret_aenergy (was: ignored)", () => {
      const payload = { src: "shellyplusplugs-abc", method: "NotifyStatus", params: { ts: 1_700_000_000.12, "switch:0": { id: 0, apower: 120.5, aenergy: { total: 5432.1, by_minute: [1, 2, 3], minute_ts: 1_699_999_980 }, ret_aenergy: { total: 12.9, by_minute: [0, 0, 0], minute_ts: 1_699_999_980 } } } };
      const r = parseMqttMessage("shellyplusplugs-abc/events/rpc", JSON.stringify(payload)) as { samples: RawSample[] };
      expect(r.samples).to.have.length(1);
      expect(r.samples[0]).to.include({ meterKey: "shellyplusplugs-abc/switch:0", importWhTotal: 5432n, exportWhTotal: 12n, timestamp: 1_700_000_000 });
      const status = parseMqttMessage("shellyplus1pm-x/status/switch:0", JSON.stringify({ id: 0, output: true, aenergy: { total: 77.7 } }), { now: () => 1_700_000_100 }) as { samples: RawSample[] };
      expect(status.samples[0]).to.include({ meterKey: "shellyplus1pm-x/switch:0", importWhTotal: 77n, exportWhTotal: 0n });
    });

    it("ignores a switch notification that carries no energy (only what changed)", () => {
      const r = parseMqttMessage("shellyplusplugs-abc/events/rpc", JSON.stringify({ src: "shellyplusplugs-abc", method: "NotifyStatus", params: { ts: 1_700_000_000, "switch:0": { id: 0, output: false } } }));
      expect(r).to.have.property("ignored");
    });
  });
});
