/**
 * "A broker" for every MQTT suite: a real Mosquitto when the binary is installed (CI installs
 * it), otherwise the embedded Aedes broker from npm, so that `npm install` then `npm test` is
 * all a newcomer needs. Both listen on 127.0.0.1 only and stop with `stop()` (and Mosquitto with
 * `Processes.killAll()`). `GRIDLEDGER_TEST_BROKER=aedes` forces the embedded broker,
 * `=mosquitto` requires Mosquitto (a failure when it is missing).
 */
import * as net from "node:net";
import type { Processes } from "./node";
import { MOSQUITTO, startMosquitto } from "./node";

export type BrokerKind = "mosquitto" | "aedes";

export interface Broker {
  kind: BrokerKind;
  port: number;
  url: string;
  /** Stops the broker (every client sees the connection drop) and resolves once it has. */
  stop(): Promise<void>;
}

/** Which broker `startBroker` starts here. */
export function brokerKind(): BrokerKind {
  const forced = process.env.GRIDLEDGER_TEST_BROKER?.trim();
  if (forced === "aedes") return "aedes";
  if (forced === "mosquitto") {
    if (!MOSQUITTO) throw new Error("GRIDLEDGER_TEST_BROKER=mosquitto but mosquitto is not installed: apt-get install -y mosquitto");
    return "mosquitto";
  }
  if (forced) throw new Error(`GRIDLEDGER_TEST_BROKER=${forced}: expected "mosquitto" or "aedes"`);
  return MOSQUITTO ? "mosquitto" : "aedes";
}

/** A broker on 127.0.0.1:`port`; resolves once it accepts connections. */
export async function startBroker(procs: Processes, dir: string, port: number): Promise<Broker> {
  const url = `mqtt://127.0.0.1:${port}`;
  if (brokerKind() === "mosquitto") {
    const proc = await startMosquitto(procs, dir, port);
    return {
      kind: "mosquitto",
      port,
      url,
      stop: async () => {
        proc.signal("SIGTERM");
        await proc.exited();
      },
    };
  }
  // aedes is an ES module; Node >= 20.19 loads it from CommonJS.
  const { Aedes } = await import("aedes");
  const aedes = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  // Never keeps the test process alive on its own.
  server.unref();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
    await new Promise<void>((r) => aedes.close(() => r()));
  };
  procs.onKill(() => void stop());
  return { kind: "aedes", port, url, stop };
}
