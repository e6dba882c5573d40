import * as fs from "node:fs";
import * as readline from "node:readline";
import { ValidationError } from "../../sdk/errors";
import { parseTimestamp, parseWh } from "../parse";
import type { SampleSink, Source } from "../types";

/**
 * CSV replay: a header `meterKey,timestamp,importWhTotal,exportWhTotal` (any column order),
 * then one sample per line. A bad line is quarantined with its line number; the rest goes on.
 */
export function csvSource(file: string): Source {
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopped = false;
  let stream: fs.ReadStream | undefined;
  return {
    name: `csv:${file}`,
    done,
    async start(sink: SampleSink) {
      stream = fs.createReadStream(file, { encoding: "utf8" });
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      const run = async () => {
        let header: string[] | undefined;
        let lineNo = 0;
        try {
          for await (const line of rl) {
            lineNo++;
            if (stopped) break;
            if (!line.trim() || line.startsWith("#")) continue;
            const cells = line.split(",").map((c) => c.trim());
            if (!header) {
              header = cells;
              const missing = ["meterKey", "timestamp", "importWhTotal", "exportWhTotal"].filter((h) => !header!.includes(h));
              if (missing.length) {
                sink.refuse({ source: "csv", field: "header", reason: `${file}: header lacks ${missing.join(", ")}`, raw: line });
                break;
              }
              continue;
            }
            const get = (name: string) => cells[header!.indexOf(name)];
            try {
              if (cells.length !== header.length) throw new ValidationError("line", `${cells.length} cells, header has ${header.length}`);
              sink.sample({
                source: "csv",
                meterKey: get("meterKey"),
                timestamp: parseTimestamp(get("timestamp")),
                importWhTotal: parseWh(get("importWhTotal"), "importWhTotal"),
                exportWhTotal: parseWh(get("exportWhTotal"), "exportWhTotal"),
                raw: `${file}:${lineNo}: ${line}`,
                replay: true,
              });
            } catch (e) {
              if (!(e instanceof ValidationError)) throw e;
              sink.refuse({ source: "csv", meterKey: get("meterKey"), field: e.field, reason: `${file}:${lineNo}: ${e.shortMessage.slice(e.field.length + 2)}`, raw: line });
            }
          }
        } catch (e) {
          sink.refuse({ source: "csv", field: "file", reason: `${file}: ${(e as Error).message}` });
        } finally {
          resolveDone();
        }
      };
      void run();
    },
    async stop() {
      stopped = true;
      stream?.destroy();
      resolveDone();
    },
  };
}
