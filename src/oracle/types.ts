/** Where a sample came from (for logs, metrics and the quarantine). */
export type SourceKind = "mqtt" | "dsmr" | "http" | "csv" | "sim" | (string & {});

/**
 * One observation of a meter's two cumulative registers, as a source adapter produces it.
 * `meterKey` is what the source knows the meter by (DSMR equipment id, MQTT topic, name);
 * the configured mapping turns it into a registry meter id.
 */
export interface RawSample {
  source: SourceKind;
  meterKey: string;
  /** Unix time in seconds when the meter measured the registers. */
  timestamp: number;
  importWhTotal: bigint;
  exportWhTotal: bigint;
  /** The original payload (for the quarantine), when there is one. */
  raw?: string;
  /** Replayed history (CSV, file): a sample older than the meter's cursor was already seen, not out of order. */
  replay?: boolean;
}

/** A payload a source could not turn into a sample, or a sample the pipeline refused. */
export interface Refusal {
  source: SourceKind;
  meterKey?: string;
  meterId?: string;
  interval?: number;
  field: string;
  reason: string;
  raw?: string;
}

export type IngestResult =
  | { status: "accepted"; readings: number }
  | { status: "duplicate" }
  | { status: "quarantined"; field: string; reason: string };

/** What a source hands its samples and refusals to (the pipeline). */
export interface SampleSink {
  sample(s: RawSample): IngestResult;
  /**
   * Samples that arrived together, taken as one durable commit (results as `sample` for each,
   * in order). Optional: a sink without it gets `sample` per sample.
   */
  sampleBatch?(samples: RawSample[]): IngestResult[];
  /** `sampleBatch` that may do work (signing) off the main thread first; same results, same single commit. */
  sampleBatchAsync?(samples: RawSample[]): Promise<IngestResult[]>;
  refuse(r: Refusal): void;
}

/** A source adapter: started once with the sink, stopped on shutdown. */
export interface Source {
  readonly name: string;
  start(sink: SampleSink): Promise<void>;
  stop(): Promise<void>;
  /** Resolves when a finite source (file, CSV, iterable) has delivered everything. */
  readonly done?: Promise<void>;
  /** Whether the source can receive now (a broker connection, a port), for /healthz and metrics. */
  status?(): { up: boolean; detail?: string };
}

export const UINT64_MAX = (1n << 64n) - 1n;
