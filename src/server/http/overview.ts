// The dashboard's overview (issue 18): every queue and topic with its counts, rates in and out
// and the age of the next waiting job, sampled every second into a ten-minute history, sent as
// server-sent events so the page updates without polling. The sampler reads one counts() and
// one peek(1) per queue per second, nothing that walks jobs, so it costs the same at a million
// jobs as at ten; it runs only while someone looked in the last ten minutes.
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Counts, Spool, WorkerProcess } from '../../index.ts';
import { Guard } from './auth.ts';
import type { Context } from './context.ts';

/** One sample a second, kept for ten minutes. */
const sampleMs = 1_000;
const historyLength = 600;
/** The sampler stops this long after the last look. */
const idleStopMs = 10 * 60_000;
/** A consumer that leased through this server this recently counts as a consumer of the queue. */
const consumerSeenMs = 30_000;

/** One queue at one sample: rates are per second over the last sample. */
export interface QueueSample {
  readonly name: string;
  readonly counts: Counts;
  /** Jobs added, and jobs completed or dead, per second. */
  readonly rateIn: number;
  readonly rateOut: number;
  /** Age in ms of the job next in line (the oldest waiting unless priorities reorder them), or null. */
  readonly oldestMs: number | null;
  /** Live workers (from heartbeats) whose handlers take from it. */
  readonly workers: number;
  /** Waiting jobs and no worker nor consumer seen: nothing is taking them. */
  readonly unattended: boolean;
}

export interface TopicSample {
  readonly name: string;
  readonly subscribers: readonly { readonly name: string; readonly queue: string }[];
}

export interface Snapshot {
  readonly at: number;
  readonly queues: readonly QueueSample[];
  readonly topics: readonly TopicSample[];
}

/** Per queue: [time, rateIn, rateOut, oldestMs] of each sample, oldest first. */
export type History = Record<string, [number, number, number, number | null][]>;

/** Counts what this server's Spool adds and settles, and samples the store every second while someone looks. */
class Sampler {
  readonly #added = new Map<string, number>();
  readonly #settled = new Map<string, number>();
  readonly #leasedAt = new Map<string, number>();
  readonly #history = new Map<string, [number, number, number, number | null][]>();
  readonly #listeners = new Set<(snapshot: Snapshot) => void>();
  readonly #unobserve: () => void;
  #timer: NodeJS.Timeout | null = null;
  /** performance.now() of the last look and the last sample: the sampler's own timing, in real time. */
  #lastLook = 0;
  #last: Snapshot | null = null;
  #lastAt = performance.now();
  #sampling = false;
  readonly #remote = new RemoteRates();

  constructor(private readonly spool: Spool) {
    const bump = (map: Map<string, number>, queue: string, n: number): void => {
      map.set(queue, (map.get(queue) ?? 0) + n);
    };
    this.#unobserve = spool.observe({
      added: (queue, count) => bump(this.#added, queue, count),
      leased: (record, now) => {
        this.#leasedAt.set(record.queue, now);
      },
      settled: (queue, _id, outcome) => {
        if (outcome !== 'failed') bump(this.#settled, queue, 1);
      },
    });
  }

  /** The latest snapshot, sampling now if there is none or the sampler was idle. */
  async look(): Promise<Snapshot> {
    this.#lastLook = performance.now();
    if (this.#timer !== null && this.#last !== null) return this.#last;
    // Idle until now: the last snapshot, if any, is old.
    this.#timer ??= setInterval(() => void this.#tick(), sampleMs);
    this.#timer.unref();
    return this.#sample();
  }

  /**
   * One sample, unless the last one is still running (a slow store: samples never pile up). A
   * failed one is skipped: the next second tries again, and /healthz tells of the store.
   */
  async #tick(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      await this.#sample();
    } catch {
      // Skipped, as said.
    } finally {
      this.#sampling = false;
    }
  }

  history(visible: (name: string) => boolean): History {
    return Object.fromEntries([...this.#history].filter(([name]) => visible(name)));
  }

  listen(listener: (snapshot: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#unobserve();
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  async #sample(): Promise<Snapshot> {
    const sampledAt = performance.now();
    if (this.#listeners.size === 0 && sampledAt - this.#lastLook > idleStopMs && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    // Rates are per second of the sampler's interval; ages and times by the Spool's clock, which
    // dated the jobs and the leases they are measured from.
    const seconds = Math.max(0.001, (sampledAt - this.#lastAt) / 1000);
    this.#lastAt = sampledAt;
    const now = this.spool.clock.now();
    const [listed, topicNames, processes] = await Promise.all([
      this.spool.queues(),
      this.spool.topics(),
      this.spool.workers(),
    ]);
    const topics = await Promise.all(
      topicNames.map(async (name) => {
        const info = await this.spool.topic(name).info();
        return { name, subscribers: info.subscribers.map((sub) => ({ name: sub.name, queue: sub.queue })) };
      }),
    );
    const workersOf = liveWorkers(processes);
    const elsewhere = this.#remote.rates(processes);
    // The store's list, and the queues of subscriptions and workers that have had no job yet.
    const listedCounts = new Map(listed.map((q) => [q.name, q.counts]));
    const names = [
      ...new Set([
        ...listedCounts.keys(),
        ...topics.flatMap((t) => t.subscribers.map((sub) => sub.queue)),
        ...workersOf.keys(),
      ]),
    ].sort();
    const queues = await Promise.all(
      names.map(async (name): Promise<QueueSample> => {
        const queue = this.spool.queue(name);
        const [counts, [next]] = await Promise.all([listedCounts.get(name) ?? queue.counts(), queue.peek(1)]);
        const rateIn = (this.#added.get(name) ?? 0) / seconds;
        const rateOut = (this.#settled.get(name) ?? 0) / seconds + (elsewhere.get(name) ?? 0);
        const oldestMs = next === undefined ? null : Math.max(0, now - next.runAt);
        const workers = workersOf.get(name) ?? 0;
        const consumer = workers > 0 || now - (this.#leasedAt.get(name) ?? 0) < consumerSeenMs;
        const unattended = counts.waiting > 0 && !counts.paused && !consumer;
        return { name, counts, rateIn, rateOut, oldestMs, workers, unattended };
      }),
    );
    this.#added.clear();
    this.#settled.clear();
    // A queue gone from the store goes from the history too.
    const present = new Set(names);
    for (const name of this.#history.keys()) if (!present.has(name)) this.#history.delete(name);
    for (const q of queues) {
      const points = this.#history.get(q.name) ?? [];
      points.push([now, q.rateIn, q.rateOut, q.oldestMs]);
      if (points.length > historyLength) points.shift();
      this.#history.set(q.name, points);
    }
    const snapshot = { at: now, queues, topics };
    this.#last = snapshot;
    for (const listener of this.#listeners) listener(snapshot);
    return snapshot;
  }
}

/**
 * Jobs completed per second by the workers of other processes, per queue, from the counts in
 * their heartbeats (every 5 s): this server's own settles, its own workers' and those of the
 * workers that beat through it over HTTP among them, are counted as they happen by the observer,
 * so their heartbeats are left out.
 */
class RemoteRates {
  /** The last beat seen of each process, and the rate per queue it gave. */
  readonly #seen = new Map<string, { beatAt: number; completed: Map<string, number>; rates: Map<string, number> }>();

  rates(processes: readonly WorkerProcess[]): Map<string, number> {
    const out = new Map<string, number>();
    const live = new Set<string>();
    for (const p of processes) {
      if (p.gone || isThisProcess(p) || (p.via !== undefined && isThisProcess(p.via))) continue;
      live.add(p.id);
      const completed = new Map<string, number>();
      for (const w of p.workers) completed.set(w.queue, (completed.get(w.queue) ?? 0) + w.completed);
      const before = this.#seen.get(p.id);
      let rates = before?.rates ?? new Map<string, number>();
      if (before !== undefined && p.beatAt > before.beatAt) {
        const seconds = (p.beatAt - before.beatAt) / 1000;
        rates = new Map([...completed].map(([q, n]) => [q, Math.max(0, n - (before.completed.get(q) ?? 0)) / seconds]));
      }
      if (before === undefined || p.beatAt > before.beatAt)
        this.#seen.set(p.id, { beatAt: p.beatAt, completed, rates });
      for (const [q, r] of rates) out.set(q, (out.get(q) ?? 0) + r);
    }
    for (const id of this.#seen.keys()) if (!live.has(id)) this.#seen.delete(id);
    return out;
  }
}

const isThisProcess = ({ host, pid }: { host: string; pid: number }): boolean =>
  pid === process.pid && host === hostname();

/** Live workers per queue. */
function liveWorkers(processes: readonly WorkerProcess[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of processes) if (!p.gone) for (const w of p.workers) out.set(w.queue, (out.get(w.queue) ?? 0) + 1);
  return out;
}

/** What of a snapshot a caller may see: the queues and topics its token's prefix reaches. */
function visibleTo(request: FastifyRequest, snapshot: Snapshot): Snapshot {
  const sees = (name: string) => Guard.sees(request.principal, name);
  return {
    at: snapshot.at,
    queues: snapshot.queues.filter((q) => sees(q.name)),
    topics: snapshot.topics.filter((t) => sees(t.name)),
  };
}

export function overviewRoutes(app: FastifyInstance, context: Context): void {
  const sampler = new Sampler(context.spool);
  app.addHook('onClose', (_app, done) => {
    sampler.close();
    done();
  });
  const onAll = { need: 'read' as const };

  app.get(
    '/v1/overview',
    {
      schema: {
        summary:
          'Every queue and topic with counts, rates and the age of the next waiting job, and the last ten minutes of samples',
      },
      config: onAll,
    },
    async (request) => {
      const snapshot = visibleTo(request, await sampler.look());
      return { ...snapshot, history: sampler.history((name) => Guard.sees(request.principal, name)) };
    },
  );

  app.get(
    '/v1/overview/events',
    {
      schema: { summary: 'The overview as server-sent events: one `snapshot` event a second', hide: true },
      config: onAll,
    },
    async (request, reply) => {
      const first = await sampler.look();
      stream(context, request, reply, (send) => {
        send(visibleTo(request, first));
        return sampler.listen((snapshot) => send(visibleTo(request, snapshot)));
      });
    },
  );

  app.get(
    '/v1/workers',
    { schema: { summary: 'Processes running workers, from their heartbeats' }, config: onAll },
    async (request) => {
      const processes = await context.spool.workers();
      if (request.principal === null || request.principal.prefix === '') return { processes };
      // A token bound to a prefix sees the processes that work on its queues, and only those
      // workers: another tenant's hosts and pids are not its to see.
      const principal = request.principal;
      return {
        processes: processes
          .map((p) => ({ ...p, workers: p.workers.filter((w) => Guard.sees(principal, w.queue)) }))
          .filter((p) => p.workers.length > 0),
      };
    },
  );
}

/**
 * Answers with a server-sent event stream: `start` subscribes a sender and returns its
 * unsubscribe. The stream ends when the client leaves or the server closes.
 */
function stream(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  start: (send: (data: unknown) => void) => () => void,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  const send = (data: unknown): void => {
    res.write(`event: snapshot\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const stop = start(send);
  // A comment line every 15 s keeps proxies from closing a quiet stream.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const end = (): void => {
    stop();
    clearInterval(keepAlive);
    context.closing.removeEventListener('abort', end);
    if (!res.writableEnded) res.end();
  };
  request.raw.once('close', end);
  res.once('close', end);
  context.closing.addEventListener('abort', end, { once: true });
}
