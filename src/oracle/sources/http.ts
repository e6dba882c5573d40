import * as http from "node:http";
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
 */

export interface HttpServerOptions {
  host?: string;
  port: number;
  maxBodyBytes?: number;
  /** Accept `POST /readings` (default true). */
  ingest?: boolean;
  sink?: SampleSink;
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
          handleIngest(res, Buffer.concat(chunks).toString("utf8"), tooLarge, size);
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

  function handleIngest(res: http.ServerResponse, body: string, tooLarge: boolean, size: number): void {
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
