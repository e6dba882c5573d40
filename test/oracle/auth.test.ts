/**
 * Issue 14, "oracle intake is authenticated": HTTP push needs a bearer token (per gateway or per
 * meter), MQTT logs in with username/password and over TLS, and the daemon refuses to listen beyond
 * loopback without authentication. Each test failed before (no token was ever asked for).
 */
import { expect } from "chai";
import { spawn, spawnSync, ChildProcess, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import mqtt from "mqtt";
import { ConfigError } from "../../src/sdk/errors";
import { loadConfig, redactConfig } from "../../src/oracle/config";
import { authorize, HttpServerHandle, startHttpServer } from "../../src/oracle/sources/http";
import { mqttSource } from "../../src/oracle/sources/mqtt";
import { createMetrics } from "../../src/oracle/metrics";
import { freePort, I, rig, Rig, START, tmpDir, waitFor } from "./helpers";

const GATEWAY_TOKEN = "gw-0123456789abcdef0123";
const METER_A_TOKEN = "meter-a-0123456789abcdef";

describe("oracle / intake authentication (issue 14)", () => {
  describe("HTTP push", () => {
    let r: Rig;
    let http: HttpServerHandle;
    const post = (body: unknown, token?: string) =>
      fetch(`${http.url}/readings`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    const sample = (meterId: string) => ({ meterId, timestamp: START + 900, importWhTotal: 10, exportWhTotal: 0 });

    beforeEach(async () => {
      r = rig();
      const metrics = createMetrics();
      http = await startHttpServer({
        port: 0, sink: r.pipeline,
        auth: { gatewayTokens: [GATEWAY_TOKEN], meterTokens: new Map([[METER_A_TOKEN, "a"]]) },
        health: () => ({ ok: true }),
        metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
      });
    });
    afterEach(async () => {
      await http.close();
      r.outbox.close();
    });

    const nothingStored = () => {
      expect(r.outbox.all()).to.deep.equal([]);
      expect(r.outbox.listQuarantine()).to.deep.equal([]);
      expect(r.outbox.allCursors()).to.deep.equal([]);
    };

    it("refuses a push without a token with 401, and nothing reaches the outbox", async () => {
      const res = await post(sample("a"));
      expect(res.status).to.equal(401);
      expect(res.headers.get("www-authenticate")).to.match(/^Bearer/);
      expect(((await res.json()) as { error: string }).error).to.match(/bearer token is required/);
      nothingStored();
    });

    it("refuses a wrong token and a token of the wrong scheme with 401", async () => {
      expect((await post(sample("a"), GATEWAY_TOKEN + "x")).status).to.equal(401);
      const basic = await fetch(`${http.url}/readings`, { method: "POST", body: JSON.stringify(sample("a")), headers: { authorization: `Basic ${Buffer.from("a:" + GATEWAY_TOKEN).toString("base64")}` } });
      expect(basic.status).to.equal(401);
      nothingStored();
    });

    it("takes a gateway token for any meter", async () => {
      const res = await post([sample("a"), sample("b")], GATEWAY_TOKEN);
      expect(res.status).to.equal(202);
      expect(r.outbox.all().map((x) => x.meterKey)).to.deep.equal(["a", "b"].sort((x, y) => (r.meters.get(x)!.meterId < r.meters.get(y)!.meterId ? -1 : 1)));
    });

    it("takes a meter's token for that meter only: another meter in the body gets 403 and nothing is stored", async () => {
      const bad = await post([sample("a"), sample("b")], METER_A_TOKEN);
      expect(bad.status).to.equal(403);
      expect(((await bad.json()) as { error: string }).error).to.match(/may push meter "a" only, not "b"/);
      nothingStored();
      expect((await post(sample("a"), METER_A_TOKEN)).status).to.equal(202);
      expect(r.outbox.all()).to.have.length(1);
    });

    it("compares tokens whole (a prefix or a longer token is no match)", () => {
      const auth = { gatewayTokens: [GATEWAY_TOKEN], meterTokens: new Map([[METER_A_TOKEN, "a"]]) };
      expect(authorize(`Bearer ${GATEWAY_TOKEN}`, auth)).to.deep.equal({ all: true });
      expect(authorize(`bearer ${METER_A_TOKEN}`, auth)).to.deep.equal({ meterKey: "a" });
      expect(authorize(`Bearer ${GATEWAY_TOKEN.slice(0, -1)}`, auth)).to.equal(undefined);
      expect(authorize(`Bearer ${GATEWAY_TOKEN}0`, auth)).to.equal(undefined);
      expect(authorize(undefined, auth)).to.equal(undefined);
    });
  });

  describe("configuration", () => {
    const base = { keystoreDir: "/tmp/k", keystorePassword: "keystore-secret", rpcUrls: ["http://127.0.0.1:1"] };

    it("refuses to listen beyond loopback without a token, reported with every other problem at once", () => {
      try {
        loadConfig({ ...base, http: { host: "0.0.0.0" }, batchSize: 0, timeZone: "Europe/Atlantis" }, {});
        expect.fail("no ConfigError");
      } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        const problems = (e as ConfigError).problems.join("\n");
        expect(problems).to.match(/http\.host \(GRIDLEDGER_ORACLE_HTTP_HOST\): 0\.0\.0\.0 is beyond loopback and HTTP ingest has no authentication; set GRIDLEDGER_ORACLE_HTTP_TOKENS/);
        expect(problems).to.contain("batchSize (GRIDLEDGER_ORACLE_BATCH_SIZE)");
        expect(problems).to.match(/timeZone \(GRIDLEDGER_ORACLE_TIME_ZONE\): not an IANA time zone/);
      }
    });

    it("listens beyond loopback with a gateway token (env) or a meter token, and on loopback without", () => {
      expect(loadConfig({ ...base, http: { host: "0.0.0.0" } }, { GRIDLEDGER_ORACLE_HTTP_TOKENS: GATEWAY_TOKEN }).http.tokens).to.deep.equal([GATEWAY_TOKEN]);
      expect(loadConfig({ ...base, http: { host: "10.0.0.2" }, meters: [{ meterKey: "a", meterId: "0x" + "11".repeat(32), token: METER_A_TOKEN }] }, {}).http.host).to.equal("10.0.0.2");
      expect(loadConfig({ ...base, http: { host: "::1" } }, {}).http.host).to.equal("::1");
      expect(loadConfig({ ...base, http: { host: "0.0.0.0", ingest: false } }, {}).http.ingest).to.equal(false);
    });

    it("refuses short tokens, a token shared by two meters, half a client certificate and TLS files on plain mqtt://", () => {
      try {
        loadConfig({
          ...base,
          meters: [{ meterKey: "a", meterId: "0x" + "11".repeat(32), token: METER_A_TOKEN }, { meterKey: "b", meterId: "0x" + "22".repeat(32), token: METER_A_TOKEN }],
          mqtt: { url: "mqtt://broker:1883", cert: __filename },
        }, {});
        expect.fail("no ConfigError");
      } catch (e) {
        const problems = (e as ConfigError).problems.join("\n");
        expect(problems).to.match(/meter "b" has a token that another meter or a gateway token also has/);
        expect(problems).to.match(/a client certificate needs both the certificate and its key/);
        expect(problems).to.match(/TLS files are set but mqtt:\/\/broker:1883 is not mqtts:\/\//);
      }
      expect(() => loadConfig({ ...base, http: { tokens: ["short"] } }, {})).to.throw(/http\.tokens\.0 \(GRIDLEDGER_ORACLE_HTTP_TOKENS\): a token needs at least 16 characters/);
    });

    it("never shows a token or a password in the logged config", () => {
      const cfg = loadConfig({ ...base, http: { tokens: [GATEWAY_TOKEN] }, meters: [{ meterKey: "a", meterId: "0x" + "11".repeat(32), token: METER_A_TOKEN }], mqtt: { url: "mqtts://user:url-secret@broker:8883", username: "u", password: "mqtt-secret" } }, {});
      const text = JSON.stringify(redactConfig(cfg));
      for (const secret of [GATEWAY_TOKEN, METER_A_TOKEN, "mqtt-secret", "url-secret", "keystore-secret"]) expect(text).not.to.contain(secret);
    });
  });

  describe("MQTT with username/password and TLS against a real Mosquitto broker", function () {
    this.timeout(60_000);
    const bin = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"].find((p) => fs.existsSync(p));
    const passwd = ["/usr/bin/mosquitto_passwd", "/usr/local/bin/mosquitto_passwd"].find((p) => fs.existsSync(p));
    const openssl = spawnSync("which", ["openssl"]).stdout?.toString().trim();
    let broker: ChildProcess | undefined;
    let port = 0;
    let dir = "";

    before(async function () {
      if (!bin || !passwd || !openssl) {
        console.log("      mosquitto, mosquitto_passwd or openssl missing: skipping (apt-get install -y mosquitto openssl)");
        this.skip();
      }
      dir = tmpDir("gl-mqtt-tls-");
      const f = (n: string) => path.join(dir, n);
      const ssl = (...args: string[]) => execFileSync(openssl!, args, { stdio: "ignore" });
      ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=gridledger-test-ca", "-keyout", f("ca.key"), "-out", f("ca.pem"));
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", f("server.key"), "-out", f("server.csr"));
      fs.writeFileSync(f("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
      ssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", f("ext.cnf"), "-out", f("server.pem"));
      fs.writeFileSync(f("passwd"), "");
      execFileSync(passwd!, ["-b", f("passwd"), "oracle", "s3cret-broker-pass"], { stdio: "ignore" });
      // Mosquitto started as root drops to its own user: it must be able to read the files.
      fs.chmodSync(dir, 0o755);
      for (const n of fs.readdirSync(dir)) fs.chmodSync(f(n), 0o644);
      port = await freePort();
      fs.writeFileSync(f("mosquitto.conf"), [
        `listener ${port} 127.0.0.1`, "allow_anonymous false", `password_file ${f("passwd")}`,
        `cafile ${f("ca.pem")}`, `certfile ${f("server.pem")}`, `keyfile ${f("server.key")}`, "persistence false", "log_dest stderr", "",
      ].join("\n"));
      broker = spawn(bin!, ["-c", f("mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
      let log = "";
      broker.stderr!.on("data", (d) => (log += d));
      await waitFor(() => /running|Opening ipv4 listen socket/.test(log) || broker!.exitCode !== null, "mosquitto to start", 10_000);
      if (broker.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
    });
    after(() => void broker?.kill("SIGTERM"));

    const publish = async (r: Rig) => {
      const pub = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { username: "oracle", password: "s3cret-broker-pass", ca: fs.readFileSync(path.join(dir, "ca.pem")), clientId: "meter-sim" });
      await pub.publishAsync("gridledger/meters/a/reading", JSON.stringify({ importWhTotal: 5, exportWhTotal: 0, timestamp: START + I }), { qos: 1 });
      await pub.endAsync();
      void r;
    };

    it("receives over mqtts:// with the broker's CA and a username/password", async () => {
      const r = rig(undefined, { now: START + 3 * I });
      const src = mqttSource({ url: `mqtts://127.0.0.1:${port}`, username: "oracle", password: "s3cret-broker-pass", ca: path.join(dir, "ca.pem"), clientId: "oracle-tls", now: () => r.clock.now });
      await src.start(r.pipeline);
      try {
        await waitFor(() => src.status!().up, "the oracle subscribed", 10_000);
        await publish(r);
        await waitFor(() => r.outbox.all().length === 1, "the reading over TLS", 10_000);
      } finally {
        await src.stop();
        r.outbox.close();
      }
    });

    it("stays down with a wrong password or an unknown CA, and says why", async () => {
      for (const opts of [{ password: "wrong", ca: path.join(dir, "ca.pem") }, { password: "s3cret-broker-pass" }]) {
        const r = rig(undefined, { now: START + 3 * I });
        const src = mqttSource({ url: `mqtts://127.0.0.1:${port}`, username: "oracle", clientId: "oracle-bad", now: () => r.clock.now, ...opts });
        await src.start(r.pipeline);
        try {
          const st = src.status!();
          expect(st.up).to.equal(false);
          expect(st.detail).to.match(/unreachable since .*\((Connection refused: Not authorized|Connection refused: Bad User Name or Password|self.signed|unable to verify|.*certificate)/i);
          expect(st.detail).not.to.contain("s3cret");
        } finally {
          await src.stop();
          r.outbox.close();
        }
      }
    });
  });
});
