import { expect } from "chai";
import mqtt from "mqtt";
import { startHttpServer, HttpServerHandle } from "../../src/oracle/sources/http";
import { mqttSource, parseMqttMessage } from "../../src/oracle/sources/mqtt";
import { createMetrics } from "../../src/oracle/metrics";
import { freePort, I, rig, Rig, START, tmpDir, waitFor } from "./helpers";
import { Broker, brokerKind, startBroker } from "../helpers/broker";
import { Processes } from "../helpers/node";

describe("oracle / HTTP ingest", () => {
  let r: Rig;
  let http: HttpServerHandle;
  const post = (body: string) => fetch(`${http.url}/readings`, { method: "POST", body, headers: { "content-type": "application/json" } });

  beforeEach(async () => {
    r = rig();
    const metrics = createMetrics();
    http = await startHttpServer({
      port: 0, sink: r.pipeline, maxBodyBytes: 4096,
      health: () => ({ ok: true }),
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    });
  });
  afterEach(async () => {
    await http.close();
    r.outbox.close();
  });

  it("accepts a sample and an array of samples", async () => {
    let res = await post(JSON.stringify({ meterId: "a", timestamp: START + 10, importWhTotal: 5, exportWhTotal: "0" }));
    expect(res.status).to.equal(202);
    res = await post(JSON.stringify([{ meterKey: "a", timestamp: START + 900, importWhTotal: "6", exportWhTotal: 1 }, { meterKey: "b", timestamp: new Date((START + 20) * 1000).toISOString(), importWhTotal: 0, exportWhTotal: 0 }]));
    expect(res.status).to.equal(202);
    expect(r.outbox.all().map((x) => [x.meterKey, x.interval, x.importWhTotal])).to.deep.equal([["a", 0, 6n]]);
  });

  const malformed: [string, string, string | RegExp][] = [
    ["bad JSON", "{meterId: a", /^body: malformed JSON/],
    ["a missing field", JSON.stringify({ meterId: "a", timestamp: START, exportWhTotal: 0 }), "importWhTotal: missing"],
    ["a negative register", JSON.stringify({ meterId: "a", timestamp: START, importWhTotal: -1, exportWhTotal: 0 }), "importWhTotal: -1 is negative"],
    ["a non-integer register", JSON.stringify({ meterId: "a", timestamp: START, importWhTotal: 1.5, exportWhTotal: 0 }), "importWhTotal: 1.5 is not an integer number of Wh"],
    ["a huge register", JSON.stringify({ meterId: "a", timestamp: START, importWhTotal: "18446744073709551616", exportWhTotal: 0 }), /importWhTotal: 18446744073709551616 is above 2\^64-1/],
    ["an unsafe JSON number", `{"meterId":"a","timestamp":${START},"importWhTotal":9007199254740993,"exportWhTotal":0}`, /send it as a decimal string/],
    ["a bad element in an array", JSON.stringify([{ meterId: "a", timestamp: START, importWhTotal: 1, exportWhTotal: 0 }, { meterId: "a", timestamp: "yesterday", importWhTotal: 1, exportWhTotal: 0 }]), /^\[1\]\.timestamp: "yesterday" has no time zone/],
    ["a missing meter id", JSON.stringify({ timestamp: START, importWhTotal: 1, exportWhTotal: 0 }), "meterId: missing (meterId or meterKey)"],
  ];
  for (const [what, body, error] of malformed) {
    it(`answers 400 naming the field for ${what}, quarantines it and keeps serving`, async () => {
      const res = await post(body);
      expect(res.status).to.equal(400);
      const json = (await res.json()) as { error: string; field: string };
      if (typeof error === "string") expect(json.error).to.equal(error);
      else expect(json.error).to.match(error);
      const [q] = r.outbox.listQuarantine();
      expect(q).to.include({ source: "http", field: json.field });
      expect(q.raw).to.equal(body);
      const ok = await post(JSON.stringify({ meterId: "a", timestamp: START + 1, importWhTotal: 1, exportWhTotal: 0 }));
      expect(ok.status).to.equal(202);
      expect((await fetch(`${http.url}/healthz`)).status).to.equal(200);
    });
  }

  it("answers 413 for an oversized body and 422 for a refused sample", async () => {
    expect((await post("x".repeat(5000))).status).to.equal(413);
    const res = await post(JSON.stringify({ meterId: "ghost", timestamp: START, importWhTotal: 1, exportWhTotal: 0 }));
    expect(res.status).to.equal(422);
    expect(((await res.json()) as { results: { reason: string }[] }).results[0].reason).to.match(/unknown meter "ghost"/);
    expect(r.outbox.listQuarantine()).to.have.length(2);
  });

  it("serves /metrics in the Prometheus format", async () => {
    const res = await fetch(`${http.url}/metrics`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.contain("gridledger_oracle_samples_received_total");
  });
});

describe("oracle / MQTT payloads", () => {
  const opts = { now: () => START + 5 };
  it("reads Tasmota ENERGY.Total (kWh) and TotalExport", () => {
    const res = parseMqttMessage("tele/tasmota_A1/SENSOR", JSON.stringify({ Time: "2023-11-14T22:15:00", ENERGY: { TotalStartTime: "2023-01-01T00:00:00", Total: 1234.567, Yesterday: 1.2, Today: 0.5, Power: 230, TotalExport: 12.3 } }), opts);
    expect(res).to.have.property("samples");
    const [s] = (res as { samples: { meterKey: string; importWhTotal: bigint; exportWhTotal: bigint; timestamp: number }[] }).samples;
    expect(s).to.include({ meterKey: "tasmota_A1", importWhTotal: 1_234_567n, exportWhTotal: 12_300n, timestamp: Date.parse("2023-11-14T22:15:00Z") / 1000 });
  });

  it("reads Shelly Gen2 EMData and EM1Data notifications (Wh)", () => {
    const payload = { src: "shellypro3em-abc", dst: "x", method: "NotifyStatus", params: { ts: START + 1.57, "emdata:0": { id: 0, total_act: 123456.78, total_act_ret: 2345.6 }, "em1data:1": { id: 1, total_act_energy: 10.9, total_act_ret_energy: 0 } } };
    const res = parseMqttMessage("shellypro3em-abc/events/rpc", JSON.stringify(payload), opts) as { samples: { meterKey: string; importWhTotal: bigint; exportWhTotal: bigint; timestamp: number }[] };
    expect(res.samples.map((s) => [s.meterKey, s.importWhTotal, s.exportWhTotal, s.timestamp])).to.deep.equal([
      ["shellypro3em-abc/emdata:0", 123_456n, 2_345n, START + 1],
      ["shellypro3em-abc/em1data:1", 10n, 0n, START + 1],
    ]);
  });

  it("names the field of a malformed payload", () => {
    expect(() => parseMqttMessage("tele/x/SENSOR", "{not json", opts)).to.throw(/payload: malformed JSON/);
    expect(() => parseMqttMessage("tele/x/SENSOR", JSON.stringify({ Time: "2023-11-14T22:15:00", ENERGY: { Total: -1 } }), opts)).to.throw(/ENERGY.Total: -1 kWh is negative/);
    expect(() => parseMqttMessage("gridledger/meters/m1/reading", JSON.stringify({ importWhTotal: 1, exportWhTotal: 2 }), opts)).to.throw(/timestamp: missing/);
  });
});

describe(`oracle / MQTT against a real broker (${brokerKind()})`, function () {
  const procs = new Processes();
  let broker: Broker | undefined;
  let port = 0;
  let r: Rig;

  before(async function () {
    port = await freePort();
    broker = await startBroker(procs, tmpDir("gl-broker-"), port);
  });
  after(async () => {
    await broker?.stop();
    procs.killAll();
  });

  it("turns Tasmota, Shelly and GridLedger messages into readings and quarantines a malformed one", async () => {
    r = rig(undefined, { now: START + 3 * I });
    r.meters.set("tasmota_A1", { ...r.meters.get("a")!, meterKey: "tasmota_A1", meterId: "0x" + "11".repeat(32) });
    r.meters.set("shelly-1/em1data:0", { ...r.meters.get("a")!, meterKey: "shelly-1/em1data:0", meterId: "0x" + "22".repeat(32) });
    r.meters.set("m7", { ...r.meters.get("a")!, meterKey: "m7", meterId: "0x" + "33".repeat(32) });
    const src = mqttSource({ url: `mqtt://127.0.0.1:${port}`, now: () => r.clock.now, clientId: "oracle-test" });
    await src.start(r.pipeline);
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "meter-sim" });
    try {
      const iso = (t: number) => new Date(t * 1000).toISOString().slice(0, 19);
      await pub.publishAsync("tele/tasmota_A1/SENSOR", JSON.stringify({ Time: iso(START + 890), ENERGY: { Total: 1.0, TotalExport: 0.5 } }), { qos: 1 });
      await pub.publishAsync("tele/tasmota_A1/SENSOR", JSON.stringify({ Time: iso(START + 910), ENERGY: { Total: 1.001, TotalExport: 0.5 } }), { qos: 1 });
      await pub.publishAsync("shelly-1/events/rpc", JSON.stringify({ src: "shelly-1", method: "NotifyStatus", params: { ts: START + 900, "em1data:0": { total_act_energy: 4321.9, total_act_ret_energy: 0 } } }), { qos: 1 });
      await pub.publishAsync("gridledger/meters/m7/reading", JSON.stringify({ importWhTotal: "10", exportWhTotal: 20, timestamp: START + 1800 }), { qos: 1 });
      await pub.publishAsync("gridledger/meters/m7/reading", "{ this is not json", { qos: 1 });
      await waitFor(() => r.outbox.all().length === 3 && r.outbox.listQuarantine().length === 1, "three readings and one refusal");
    } finally {
      await pub.endAsync();
      await src.stop();
    }
    expect(r.outbox.all().map((x) => [x.meterKey, x.interval, x.importWhTotal, x.exportWhTotal])).to.deep.equal([
      ["tasmota_A1", 0, 1000n, 500n],
      ["shelly-1/em1data:0", 0, 4321n, 0n],
      ["m7", 1, 10n, 20n],
    ]);
    const [q] = r.outbox.listQuarantine();
    expect(q).to.include({ source: "mqtt", meterKey: "m7", field: "payload", raw: "{ this is not json" });
    expect(q.reason).to.match(/malformed JSON.*topic gridledger\/meters\/m7\/reading/);
    r.outbox.close();
  });
});
