import * as http from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { TransientError, ValidationError } from "../../sdk/errors";
import type { Logger } from "../../sdk/logger";
import { parseTimestamp, parseWh } from "../parse";
import type { RawSample, SampleSink } from "../types";

/**
 * The daemon's HTTP server (127.0.0.1 by default): `POST /readings` (JSON sample or array of
 * samples), `GET /healthz`, `GET /metrics`.
 * Body: `{"meterId"|"meterKey": string, "timestamp": unix s | ISO, "importWhTotal": int|string, "exportWhTotal": int|string}`.
 * A malformed body gets 400 with `{error, field, index?}` and lands in the quarantine.
 *
 * Authentication (issue 14): with tokens configured, `POST /readings` needs `Authorization: Bearer
 * <token>`: a gateway token may push any mapped meter, a meter's token only that meter. A missing
 * or unknown token gets 401, a meter token used for another meter 403; neither stores anything
 * (not even in the quarantine: an outsider must not be able to fill the disk). Tokens are compared
 * as SHA-256 digests with `timingSafeEqual` (constant time, whatever the length).
 */

export interface HttpAuth {
  /** Tokens that may push samples of every meter. */
  gatewayTokens: string[];
  /** Token -> the one meter key it may push. */
  meterTokens: Map<string, string>;
}

const digest = (t: string) => createHash("sha256").update(t, "utf8").digest();

/** What a request's bearer token may push: every meter, one meter key, or nothing (undefined). */
export function authorize(header: string | undefined, auth: HttpAuth): { all: true } | { meterKey: string } | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return undefined;
  const got = digest(m[1]);
  let found: { all: true } | { meterKey: string } | undefined;
  // Compare against every token (no early exit): the time does not depend on which one matched.
  for (const t of auth.gatewayTokens) if (timingSafeEqual(got, digest(t))) found ??= { all: true };
  for (const [t, meterKey] of auth.meterTokens) if (timingSafeEqual(got, digest(t))) found ??= { meterKey };
  return found;
}

export interface HttpServerOptions {
  host?: string;
  port: number;
  maxBodyBytes?: number;
  /** Accept `POST /readings` (default true). */
  ingest?: boolean;
  sink?: SampleSink;
  /** Bearer tokens for `POST /readings`; without any, ingest is open (the config allows that on loopback only). */
  auth?: HttpAuth;
  health: () => { ok: boolean; [k: string]: unknown };
  metrics: () => Promise<{ contentType: string; body: string }>;
  logger?: Logger;
}

export interface HttpServerHandle {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Validates one JSON sample; throws a ValidationError naming the field (prefixed with `[i].` in arrays). */
export function parseHttpSample(o: unknown, prefix = ""): RawSample {
  if (!o || typeof o !== "object" || Array.isArray(o)) throw new ValidationError(prefix.replace(/\.$/, "") || "body", "expected a JSON object");
  const r = o as Record<string, unknown>;
  const key = r.meterKey ?? r.meterId;
  if (key === undefined) throw new ValidationError(`${prefix}meterId`, "missing (meterId or meterKey)");
  if (typeof key !== "string" || key.length === 0 || key.length > 200) throw new ValidationError(`${prefix}meterId`, "expected a non-empty string of at most 200 characters");
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ValidationError && prefix) throw new ValidationError(`${prefix}${e.field}`, e.shortMessage.slice(e.field.length + 2));
      throw e;
    }
  };
  return {
    source: "http",
    meterKey: key,
    timestamp: wrap(() => parseTimestamp(r.timestamp)),
    importWhTotal: wrap(() => parseWh(r.importWhTotal, "importWhTotal")),
    exportWhTotal: wrap(() => parseWh(r.exportWhTotal, "exportWhTotal")),
    raw: JSON.stringify(o),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export async function startHttpServer(o: HttpServerOptions): Promise<HttpServerHandle> {
  const maxBody = o.maxBodyBytes ?? 1_048_576;
  const log = o.logger;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && url === "/healthz") {
      const h = o.health();
      return send(res, h.ok ? 200 : 503, h);
    }
    if (req.method === "GET" && url === "/metrics") {
      o.metrics().then(
        (m) => send(res, 200, m.body, m.contentType),
        (e) => send(res, 500, { error: (e as Error).message }),
      );
      return;
    }
    if (url === "/readings" && o.ingest !== false && o.sink) {
      if (req.method !== "POST") return send(res, 405, { error: "use POST" });
      let allowed: { all: true } | { meterKey: string } | undefined = { all: true };
      if (o.auth && (o.auth.gatewayTokens.length || o.auth.meterTokens.size)) {
        allowed = authorize(req.headers.authorization, o.auth);
        if (!allowed) {
          log?.warn({ remote: req.socket.remoteAddress, hadToken: req.headers.authorization !== undefined }, "HTTP ingest refused: no valid bearer token");
          res.setHeader("www-authenticate", 'Bearer realm="gridledger-oracle"');
          req.resume();
          return send(res, 401, { error: "authorization: a valid bearer token is required (Authorization: Bearer <token>)" });
        }
      }
      const scope = allowed;
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          tooLarge = true;
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => {
        // Nothing may escape this handler: an exception here would end the daemon.
        try {
          handleIngest(res, Buffer.concat(chunks).toString("utf8"), tooLarge, size, scope);
        } catch (e) {
          const transient = e instanceof TransientError;
          log?.error({ err: (e as Error).message }, "HTTP ingest failed");
          if (!res.headersSent) send(res, transient ? 503 : 500, { error: transient ? (e as TransientError).shortMessage : `internal error: ${(e as Error).message}`, retry: transient });
        }
      });
      req.on("error", () => send(res, 400, { error: "request stream error" }));
      return;
    }
    send(res, 404, { error: `no route ${req.method} ${url}` });
  });

  function handleIngest(res: http.ServerResponse, body: string, tooLarge: boolean, size: number, scope: { all: true } | { meterKey: string }): void {
    const sink = o.sink!;
    const bad = (status: number, field: string, reason: string, index?: number) => {
      sink.refuse({ source: "http", field, reason, raw: body });
      log?.info({ field, reason }, "HTTP ingest refused a body");
      send(res, status, { error: `${field}: ${reason}`, field, reason, ...(index === undefined ? {} : { index }) });
    };
    if (tooLarge) return bad(413, "body", `${size} bytes is above the limit of ${maxBody} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      return bad(400, "body", `malformed JSON: ${(e as Error).message}`);
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length === 0) return bad(400, "body", "empty array");
    const samples: RawSample[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        samples.push(parseHttpSample(items[i], Array.isArray(parsed) ? `[${i}].` : ""));
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        return bad(400, e.field, e.shortMessage.slice(e.field.length + 2), Array.isArray(parsed) ? i : undefined);
      }
    }
    if ("meterKey" in scope) {
      const other = samples.findIndex((x) => x.meterKey !== scope.meterKey);
      if (other >= 0) {
        log?.warn({ meterKey: samples[other].meterKey }, "HTTP ingest refused: a meter token used for another meter");
        return send(res, 403, { error: `authorization: this token may push meter "${scope.meterKey}" only, not "${samples[other].meterKey}"`, index: other });
      }
    }
    // One body's samples: one durable commit, before the response acknowledges them.
    const outcomes = sink.sampleBatch ? sink.sampleBatch(samples) : samples.map((s) => sink.sample(s));
    const results = samples.map((s, i) => ({ index: i, meterKey: s.meterKey, ...outcomes[i] }));
    const refused = results.filter((r) => r.status === "quarantined");
    send(res, refused.length ? 422 : 202, { accepted: results.length - refused.length, results });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log?.info({ host: o.host ?? "127.0.0.1", port }, "HTTP server listening");
  return {
    port,
    url: `http://${o.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
