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

export const scenarioIds = ['enqueue-single', 'enqueue-bulk', 'e2e-c1', 'e2e-c64', 'latency', 'lease-depth'] as const;
export type ScenarioId = (typeof scenarioIds)[number];
/** lease-depth fills 500,000 jobs per system, so it runs only when `--scenarios` names it. */
export const defaultScenarioIds: readonly ScenarioId[] = scenarioIds.filter((id) => id !== 'lease-depth');

/** Opens a system on a queue of the given name; lease-depth opens two, one per depth. */
export type Open = (queue: string) => Promise<Subject>;

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
  /**
   * Jobs each enqueue scenario adds first, unmeasured, through the same calls on the same queue:
   * a fresh process spends its first thousands of calls with V8 compiling its code, which a
   * producer that has run for a minute is past (issue 16: half of spool's bulk figure was that).
   */
  warmup: number;
  depth: DepthSizes;
}

/** lease-depth: the same lease+ack run on a shallow and on a deep queue. */
export interface DepthSizes {
  shallow: number;
  deep: number;
  /** Jobs leased and acked at each depth. */
  leased: number;
  /** Wall-clock cap of each depth's run; at 15 jobs/s a deep queue would otherwise hold the bench for minutes. */
  capMs: number;
}

export type Figures =
  | { kind: 'throughput'; jobsPerSec: number; jobs: number; capped: boolean }
  | {
      kind: 'latency';
      p50Ms: number;
      p99Ms: number;
      /** The adds' own p99, call to resolve (their commit): no handler can start a job before its add is in. */
      addP99Ms: number;
      jobs: number;
      capped: boolean;
    }
  | {
      kind: 'depth';
      shallowPerSec: number;
      deepPerSec: number;
      jobs: number;
      /** Either depth hit its cap; `shallowCapped` and `deepCapped` say which. */
      capped: boolean;
      shallowCapped: boolean;
      deepCapped: boolean;
    };

/** What one child reports: the system as it was set up, and its figures. */
export interface Measured {
  version: string;
  durable: Durability;
  figures: Figures;
}

export const window = 1_000;
export const bulkSize = 1_000;
export const latencyGapMs = 2;
/** lease-depth runs one lease at a time, so each figure is the cost of one lease and its ack. */
export const leaseConcurrency = 1;
const closeTimeoutMs = 10_000;
/** The JSON of `{i, ts, pad}` around the pad, with `i` and `ts` at their usual widths. */
const payloadOverhead = JSON.stringify({ i: 10_000, ts: 12_345.678_901, pad: '' }).length;
export const minPayloadBytes = payloadOverhead;

/** Makes payloads of about `bytes` bytes of JSON each. */
function payloads(bytes: number): (i: number) => Payload {
  const pad = 'x'.repeat(Math.max(0, bytes - payloadOverhead));
  return (i) => ({ i, ts: performance.now(), pad });
}

export function runScenario(open: Open, queue: string, scenario: ScenarioId, sizes: Sizes): Promise<Measured> {
  if (scenario === 'lease-depth') return leaseDepth(open, queue, sizes);
  return using(open, queue, (subject) => runOn(subject, scenario, sizes));
}

/** Opens a subject for one run and closes it after, whatever the run's outcome. */
async function using(open: Open, queue: string, run: (subject: Subject) => Promise<Figures>): Promise<Measured> {
  const subject = await open(queue);
  try {
    const figures = await run(subject);
    return { version: subject.version, durable: subject.durable, figures };
  } finally {
    // A system that hangs on close must not hold the run; its figures are already taken.
    const cap = new Promise<void>((resolve) => setTimeout(resolve, closeTimeoutMs).unref());
    await Promise.race([subject.close(), cap]);
  }
}

function runOn(subject: Subject, scenario: Exclude<ScenarioId, 'lease-depth'>, sizes: Sizes): Promise<Figures> {
  const payload = payloads(sizes.payloadBytes);
  switch (scenario) {
    case 'enqueue-single':
      return warmed(enqueueSingle, subject, sizes, payload);
    case 'enqueue-bulk':
      return warmed(fill, subject, sizes, payload);
    case 'e2e-c1':
      return drain(subject, { fill: sizes.n, jobs: sizes.n, capMs: sizes.capMs, concurrency: 1 }, payload);
    case 'e2e-c64':
      return drain(subject, { fill: sizes.n, jobs: sizes.n, capMs: sizes.capMs, concurrency: 64 }, payload);
    case 'latency':
      return latency(subject, sizes, payload);
  }
}

/** `add` run unmeasured for `sizes.warmup` jobs, then timed for `sizes.n`. */
async function warmed(
  add: (subject: Subject, n: number, payload: (i: number) => Payload) => Promise<void>,
  subject: Subject,
  sizes: Sizes,
  payload: (i: number) => Payload,
): Promise<Figures> {
  await add(subject, sizes.warmup, payload);
  return timed(sizes.n, () => add(subject, sizes.n, payload));
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

interface Drain {
  /** Jobs queued (in bulk, not timed) before the worker starts. */
  fill: number;
  /** Completions to wait for; at most `fill`. */
  jobs: number;
  capMs: number;
  concurrency: number;
}

/** The timer starts before the worker is created and stops at the `jobs`-th completion the backend records. */
async function drain(subject: Subject, run: Drain, payload: (i: number) => Payload): Promise<Figures> {
  await fill(subject, run.fill, payload);
  let completed = 0;
  let end = 0;
  const all = signal();
  const start = performance.now();
  await subject.startWorker(run.concurrency, {
    started: () => undefined,
    completed: () => {
      if (++completed !== run.jobs) return;
      end = performance.now();
      all.resolve();
    },
  });
  const hitCap = await capped(all.promise, run.capMs);
  const seconds = ((hitCap ? performance.now() : end) - start) / 1000;
  const jobs = hitCap ? completed : run.jobs;
  return { kind: 'throughput', jobsPerSec: jobs / seconds, jobs, capped: hitCap };
}

/**
 * An idle worker (c=1), then one add every 2 ms on a drift-free schedule; add() to handler start.
 * With `sizes.warmup`, the worker first serves up to `latencySamples` jobs at that pace unmeasured
 * and idles again: the latency of a worker that has been running, not of a process's first calls
 * (V8 compiling, a pool's connections preparing their statements), as the enqueue scenarios do.
 */
async function latency(subject: Subject, sizes: Sizes, payload: (i: number) => Payload): Promise<Figures> {
  let seen: number[] = [];
  let added: number[] = [];
  let round = { want: 0, all: signal() };
  await subject.startWorker(1, {
    started: (data) => {
      seen.push(performance.now() - data.ts);
      if (seen.length === round.want) round.all.resolve();
    },
    completed: () => undefined,
  });
  const paced = async (samples: number): Promise<boolean> => {
    seen = [];
    added = [];
    round = { want: samples, all: signal() };
    await sleep(sizes.idleMs);
    const adds: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < samples; i++) {
      const wait = start + i * latencyGapMs - performance.now();
      if (wait >= 1) await sleep(wait);
      const data = payload(i);
      adds.push(subject.add(data).then(() => added.push(performance.now() - data.ts)));
    }
    await Promise.all(adds);
    return capped(round.all.promise, sizes.capMs);
  };
  const warm = Math.min(sizes.warmup, sizes.latencySamples);
  if (warm > 0) await paced(warm);
  const hitCap = await paced(sizes.latencySamples);
  return {
    kind: 'latency',
    p50Ms: percentile(seen, 50),
    p99Ms: percentile(seen, 99),
    addP99Ms: percentile(added, 99),
    jobs: seen.length,
    capped: hitCap,
  };
}

/** The `p`th percentile of `values` (nearest rank), NaN of none. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * Lease throughput at two depths, each on a queue of its own: the queue is filled through the system's bulk
 * path (not timed), then one worker leases and acks `leased` jobs, timed as end-to-end is, from before the
 * worker is created to the last completion the backend records. A system that fetches jobs in batches (pg-boss,
 * graphile-worker's local queue) pays its fetch once per batch, as it would in use. A system slower than
 * `leased` jobs per cap reports the jobs it finished by then.
 */
async function leaseDepth(open: Open, queue: string, sizes: Sizes): Promise<Measured> {
  const { shallow, deep, leased } = sizes.depth;
  // With `--warmup`, a queue of its own goes first, unmeasured: a fresh process runs its first jobs
  // cold (V8 compiling the lease and ack paths), and whichever depth ran first was the slower (spool
  // on PostgreSQL: shallow 976 against deep 1,238 jobs/s; deep first, 1,063 against shallow 1,113).
  if (sizes.warmup > 0) await using(open, `${queue}-warmup`, (subject) => leaseAt(subject, leased, sizes));
  const first = await using(open, `${queue}-${shallow}`, (subject) => leaseAt(subject, shallow, sizes));
  const second = await using(open, `${queue}-${deep}`, (subject) => leaseAt(subject, deep, sizes));
  const rate = (m: Measured): number => (m.figures.kind === 'throughput' ? m.figures.jobsPerSec : NaN);
  return {
    ...second,
    figures: {
      kind: 'depth',
      shallowPerSec: rate(first),
      deepPerSec: rate(second),
      jobs: second.figures.jobs,
      capped: first.figures.capped || second.figures.capped,
      shallowCapped: first.figures.capped,
      deepCapped: second.figures.capped,
    },
  };
}

function leaseAt(subject: Subject, depth: number, sizes: Sizes): Promise<Figures> {
  const { leased, capMs } = sizes.depth;
  return drain(
    subject,
    { fill: depth, jobs: leased, capMs, concurrency: leaseConcurrency },
    payloads(sizes.payloadBytes),
  );
}
