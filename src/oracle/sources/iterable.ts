import type { Logger } from "../../sdk/logger";
import type { RawSample, SampleSink, Source } from "../types";

/**
 * Any async iterable of samples as a source: this is how the household simulator (`src/sim`)
 * plugs in. `timestamp` is unix seconds; registers are bigint Wh. The iterable may pace
 * itself (sleep between samples) or deliver a whole day at once. With `replay` (the default,
 * right for a seeded simulator) samples older than a meter's cursor after a restart are taken
 * as already seen; set it to false for a live feed, so they are quarantined as out of order.
 */
export function iterableSource(
  name: string,
  samples: AsyncIterable<Omit<RawSample, "source"> & { source?: string }> | Iterable<Omit<RawSample, "source"> & { source?: string }>,
  options: { logger?: Logger; replay?: boolean } = {},
): Source {
  const { logger, replay = true } = options;
  let stopped = false;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    name,
    done,
    async start(sink: SampleSink) {
      void (async () => {
        try {
          for await (const s of samples as AsyncIterable<RawSample>) {
            if (stopped) break;
            sink.sample({ replay, ...s, source: s.source ?? "sim" });
          }
        } catch (e) {
          logger?.error({ source: name, err: (e as Error).message }, "sample iterable failed");
          sink.refuse({ source: "sim", field: "iterable", reason: `${name} failed: ${(e as Error).message}` });
        } finally {
          resolveDone();
        }
      })();
    },
    async stop() {
      stopped = true;
      resolveDone();
    },
  };
}
