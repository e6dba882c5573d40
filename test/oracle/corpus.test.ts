/**
 * The meter corpus (test/oracle/fixtures/corpus, sources in its README): every DSMR telegram and
 * MQTT payload goes through the oracle's own parsers (the P1 stream splitter and
 * `ingestTelegram`, `parseMqttMessage`) and must give the manifest's values or its refusal.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ingestTelegram, sealTelegram, TelegramSplitter } from "../../src/oracle/sources/dsmr";
import { parseMqttMessage, tasmotaTopic } from "../../src/oracle/sources/mqtt";
import type { RawSample, Refusal, SampleSink } from "../../src/oracle/types";

const dir = path.join(__dirname, "fixtures", "corpus");
type Outcome = { accept: { meterKey: string; importWh: string; exportWh: string; utc: string } } | { refuse: { field: string; reason: string } };
interface DsmrEntry { file: string; zone: string; portMeterKey?: string; telegrams: Outcome[]; rest?: string; skipsLeadingBytes?: boolean; resealed?: Outcome }
const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { dsmr: DsmrEntry[] };

/** A file as the P1 port delivers it: CRLF line ends (the files keep the sources' text; LF where the source was shown with LF). */
const wire = (file: string) => fs.readFileSync(path.join(dir, "dsmr", file), "latin1").replace(/\r?\n/g, "\r\n");

function run(sinkInput: string[], entry: DsmrEntry): { samples: RawSample[]; refusals: Refusal[] } {
  const samples: RawSample[] = [];
  const refusals: Refusal[] = [];
  const sink: SampleSink = { sample: (s) => (samples.push(s), { status: "accepted", readings: 0 }), refuse: (r) => void refusals.push(r) };
  for (const t of sinkInput) ingestTelegram(sink, t, { port: entry.file, timeZone: entry.zone, meterKey: entry.portMeterKey });
  return { samples, refusals };
}

function check(outcome: Outcome, got: { sample?: RawSample; refusal?: Refusal }, what: string): void {
  if ("accept" in outcome) {
    expect(got.refusal, `${what}: refused (${got.refusal?.field}: ${got.refusal?.reason})`).to.equal(undefined);
    const a = outcome.accept;
    expect(got.sample, what).to.include({ meterKey: a.meterKey, importWhTotal: BigInt(a.importWh), exportWhTotal: BigInt(a.exportWh), timestamp: Date.parse(a.utc) / 1000 });
  } else {
    expect(got.refusal, `${what}: accepted`).not.to.equal(undefined);
    expect(got.refusal!.field, what).to.equal(outcome.refuse.field);
    expect(got.refusal!.reason, what).to.contain(outcome.refuse.reason);
  }
}

describe("oracle / meter corpus", () => {
  it(`holds at least 40 DSMR telegrams (${manifest.dsmr.reduce((n, e) => n + e.telegrams.length + (e.rest ? 1 : 0), 0)})`, () => {
    expect(manifest.dsmr.reduce((n, e) => n + e.telegrams.length + (e.rest ? 1 : 0), 0)).to.be.at.least(40);
    const files = fs.readdirSync(path.join(dir, "dsmr")).filter((f) => f.endsWith(".txt")).sort();
    expect(files).to.deep.equal(manifest.dsmr.map((e) => e.file).sort());
    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    for (const f of files) expect(readme, `README names ${f}`).to.contain(f);
  });

  for (const entry of manifest.dsmr) {
    it(`DSMR ${entry.file}: ${entry.telegrams.map((t) => ("accept" in t ? "accepted" : `refused (${t.refuse.field})`)).join(", ") || "no complete telegram"}${entry.rest ? ", then the unterminated rest refused" : ""}`, () => {
      const splitter = new TelegramSplitter();
      const data = wire(entry.file);
      // Fed in chunks, as a serial port delivers it.
      const telegrams: string[] = [];
      for (let i = 0; i < data.length; i += 64) telegrams.push(...splitter.push(data.slice(i, i + 64)).telegrams);
      const end = splitter.end();
      telegrams.push(...end.telegrams);
      expect(telegrams, "telegrams cut from the stream").to.have.length(entry.telegrams.length);
      const { samples, refusals } = run(telegrams, entry);
      let s = 0;
      let r = 0;
      entry.telegrams.forEach((outcome, i) => {
        check(outcome, "accept" in outcome ? { sample: samples[s++] } : { refusal: refusals[r++] }, `${entry.file} telegram ${i + 1}`);
      });
      if (entry.rest) expect(end.rest.trim().length, "an unterminated rest").to.be.greaterThan(0);
      else expect(end.rest.trim()).to.equal("");
      if (entry.skipsLeadingBytes) expect(splitter.skippedBytes).to.be.greaterThan(0);
      if (entry.resealed) {
        const body = telegrams[0].slice(0, telegrams[0].lastIndexOf("!") + 1);
        const again = run([sealTelegram(body)], entry);
        check(entry.resealed, { sample: again.samples[0], refusal: again.refusals[0] }, `${entry.file} re-sealed`);
      }
    });
  }

  describe("MQTT payloads", () => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, "mqtt", "payloads.json"), "utf8")) as {
      now: number;
      payloads: { name: string; synthetic: boolean; topic: string; payload: string; fullTopic?: string; zone?: string; samples?: { meterKey: string; importWh: string; exportWh: string; timestamp: number }[]; refuse?: { field: string; reason: string }; ignored?: boolean }[];
    };
    for (const p of m.payloads) {
      it(`${p.name}${p.synthetic ? " (synthetic, after the vendor's format)" : ""}: ${p.samples ? "accepted" : p.refuse ? `refused (${p.refuse.field})` : "ignored"}`, () => {
        const opts = {
          now: () => m.now,
          tasmotaFullTopics: p.fullTopic ? [tasmotaTopic(p.fullTopic)] : undefined,
          meterTime: () => (p.zone ? { timeZone: p.zone } : undefined),
        };
        if (p.refuse) {
          expect(() => parseMqttMessage(p.topic, p.payload, opts)).to.throw(new RegExp(`^${p.refuse.field.replace(/\./g, "\\.")}: .*${p.refuse.reason}`));
          return;
        }
        const r = parseMqttMessage(p.topic, p.payload, opts);
        if (p.ignored) return void expect(r).to.have.property("ignored");
        expect(r).to.have.property("samples");
        const got = (r as { samples: RawSample[] }).samples.map((s) => ({ meterKey: s.meterKey, importWh: s.importWhTotal.toString(), exportWh: s.exportWhTotal.toString(), timestamp: s.timestamp }));
        expect(got).to.deep.equal(p.samples);
      });
    }
  });
});
