// The scenarios, written once against `Subject` so that spool and every peer are measured by the same code.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** About 100 bytes of JSON (`--payload-bytes`); `ts` is `performance.now()` just before the add, producer and worker share a process. */
export interface Payload {
  i: number;
  ts: number;
  pad: string;
}

/** What a queue system under test must offer: spool and each peer implement it in a small module. */
export interface Subject {
  readonly version: string;
  /** What a resolved add survives, as this subject is set up. */
  readonly durable: Durability;
  add(data: Payload): Promise<unknown>;
  /** One bulk call of the system's own bulk API. */
  addBulk(data: Payload[]): Promise<unknown>;
  /** `started` when a handler sees a job; `completed` once the backend has recorded the job as done. */
  startWorker(concurrency: number, events: WorkerEvents): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerEvents {
  started(data: Payload): void;
  completed(): void;
}

/** The same three words as spool's `capabilities.durable`. */
export type Durability = 'none' | 'process-crash' | 'power-loss';

export const scenarioIds = ['enqueue-single', 'enqueue-bulk', 'e2e-c1', 'e2e-c64', 'latency'] as const;
export type ScenarioId = (typeof scenarioIds)[number];

export interface Sizes {
  /** Jobs per enqueue scenario, and the backlog of each end-to-end scenario. */
  n: number;
  latencySamples: number;
  /** How long the latency worker waits idle before the first add. */
  idleMs: number;
  /** Wall-clock cap of an end-to-end or latency run; a slow system reports what it finished by then. */
  capMs: number;
  /** Size of each job's JSON payload in bytes (the `pad` fills it out); 100 by default. */
  payloadBytes: number;
}

export type Figures =
  | { kind: 'throughput'; jobsPerSec: number; jobs: number; capped: boolean }
  | { kind: 'latency'; p50Ms: number; p99Ms: number; jobs: number; capped: boolean };

export const window = 1_000;
export const bulkSize = 1_000;
export const latencyGapMs = 2;
/** The JSON of `{i, ts, pad}` around the pad, with `i` and `ts` at their usual widths. */
const payloadOverhead = JSON.stringify({ i: 10_000, ts: 12_345.678_901, pad: '' }).length;
export const minPayloadBytes = payloadOverhead;

/** Makes payloads of about `bytes` bytes of JSON each. */
function payloads(bytes: number): (i: number) => Payload {
  const pad = 'x'.repeat(Math.max(0, bytes - payloadOverhead));
  return (i) => ({ i, ts: performance.now(), pad });
}

export function runScenario(subject: Subject, scenario: ScenarioId, sizes: Sizes): Promise<Figures> {
  const payload = payloads(sizes.payloadBytes);
  switch (scenario) {
    case 'enqueue-single':
      return timed(sizes.n, () => enqueueSingle(subject, sizes.n, payload));
    case 'enqueue-bulk':
      return timed(sizes.n, () => fill(subject, sizes.n, payload));
    case 'e2e-c1':
      return endToEnd(subject, sizes, 1, payload);
    case 'e2e-c64':
      return endToEnd(subject, sizes, 64, payload);
    case 'latency':
      return latency(subject, sizes, payload);
  }
}

async function timed(n: number, body: () => Promise<void>): Promise<Figures> {
  const start = performance.now();
  await body();
  return { kind: 'throughput', jobsPerSec: n / ((performance.now() - start) / 1000), jobs: n, capped: false };
}

async function enqueueSingle(subject: Subject, n: number, payload: (i: number) => Payload): Promise<void> {
  for (let done = 0; done < n;) {
    const size = Math.min(window, n - done);
    const pending: Promise<unknown>[] = [];
    for (let k = 0; k < size; k++) pending.push(subject.add(payload(done + k)));
    await Promise.all(pending);
    done += size;
  }
}

async function fill(subject: Subject, n: number, payload: (i: number) => Payload): Promise<void> {
  for (let done = 0; done < n;) {
    const size = Math.min(bulkSize, n - done);
    await subject.addBulk(Array.from({ length: size }, (_, k) => payload(done + k)));
    done += size;
  }
}

/** Resolves true when `capMs` passes before `finished` settles. */
async function capped(finished: Promise<void>, capMs: number): Promise<boolean> {
  const timer = new AbortController();
  const cap = sleep(capMs, true, { signal: timer.signal });
  try {
    return await Promise.race([finished.then(() => false), cap]);
  } finally {
    timer.abort();
    cap.catch(() => undefined);
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The timer starts before the worker is created and stops at the n-th completion the backend records. */
async function endToEnd(
  subject: Subject,
  sizes: Sizes,
  concurrency: number,
  payload: (i: number) => Payload,
): Promise<Figures> {
  const { n } = sizes;
  await fill(subject, n, payload);
  let completed = 0;
  let end = 0;
  const all = signal();
  const start = performance.now();
  await subject.startWorker(concurrency, {
    started: () => undefined,
    completed: () => {
      if (++completed !== n) return;
      end = performance.now();
      all.resolve();
    },
  });
  const hitCap = await capped(all.promise, sizes.capMs);
  const seconds = ((hitCap ? performance.now() : end) - start) / 1000;
  const jobs = hitCap ? completed : n;
  return { kind: 'throughput', jobsPerSec: jobs / seconds, jobs, capped: hitCap };
}

/** An idle worker (c=1), then one add every 2 ms on a drift-free schedule; add() to handler start. */
async function latency(subject: Subject, sizes: Sizes, payload: (i: number) => Payload): Promise<Figures> {
  const samples = sizes.latencySamples;
  const seen: number[] = [];
  const all = signal();
  await subject.startWorker(1, {
    started: (data) => {
      seen.push(performance.now() - data.ts);
      if (seen.length === samples) all.resolve();
    },
    completed: () => undefined,
  });
  await sleep(sizes.idleMs);
  const adds: Promise<unknown>[] = [];
  const start = performance.now();
  for (let i = 0; i < samples; i++) {
    const wait = start + i * latencyGapMs - performance.now();
    if (wait >= 1) await sleep(wait);
    adds.push(subject.add(payload(i)));
  }
  await Promise.all(adds);
  const hitCap = await capped(all.promise, sizes.capMs);
  seen.sort((a, b) => a - b);
  const pct = (p: number): number => seen[Math.min(seen.length - 1, Math.ceil((p / 100) * seen.length) - 1)] ?? NaN;
  return { kind: 'latency', p50Ms: pct(50), p99Ms: pct(99), jobs: seen.length, capped: hitCap };
}
