import { parseToken } from '../contract.ts';
import type {
  AckParams,
  AddParams,
  AddResult,
  Counts,
  ExtendParams,
  ExtendResult,
  JobRecord,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  RemoveParams,
  Retention,
  Settle,
  StoreEvent,
} from '../contract.ts';
import { QueueState, record } from './queue-state.ts';
import type { Job } from './queue-state.ts';

/** Where a table's payloads live when it does not hold them itself: the file store's log. */
export interface PayloadHome {
  read(at: number, size: number): Uint8Array;
  /** The job holding these bytes left the table. */
  release(at: number, size: number): void;
}

/** A queue's own state, as a checkpoint keeps it. */
export interface QueueImage {
  readonly name: string;
  readonly paused: boolean;
  readonly expired: number;
  readonly retention: Retention;
}

/** A job as a checkpoint keeps it: its queue by name. */
export type JobImage = Omit<Job, 'queue'> & { readonly queue: string };

/** Everything a table holds, in the order a restore needs it: see `image` and `restore`. */
export interface TableImage<J = Job> {
  readonly nextSeq: number;
  readonly queues: readonly QueueImage[];
  /** Every job; dead and completed ones in the order their queue keeps them. */
  readonly jobs: readonly J[];
  readonly meta: readonly (readonly [string, string])[];
}

/**
 * The embedded stores' job table: the whole Store contract as synchronous calls on one
 * process's memory. The memory store wraps it in promises; the file store logs each call, so
 * the table must stay a pure function of the calls it gets (`now` included).
 */
export class JobTable {
  readonly #jobs = new Map<string, Job>();
  readonly #queues = new Map<string, QueueState>();
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  readonly #meta = new Map<string, string>();
  #seq = 0;

  constructor(private readonly home: PayloadHome | null = null) {}

  /** The sequence number, and so the id, the next new job gets: logged with each add, so ids survive a repair. */
  get nextSeq(): number {
    return this.#seq + 1;
  }

  set nextSeq(value: number) {
    this.#seq = value - 1;
  }

  /** How many jobs the table holds. */
  get size(): number {
    return this.#jobs.size;
  }

  /**
   * Adds a batch, whole or not at all. `locate(i)`, when given, is where the log keeps the
   * payload of `jobs[i]`: the table then holds its position, not its bytes.
   */
  add({ now, jobs, maxLength }: AddParams, locate?: (index: number) => number): AddResult {
    // Check the whole batch before changing anything: a batch is added whole or not at all.
    const fresh = new Map<string, number>();
    const byKey = new Set<string>();
    for (const job of jobs) {
      const q = this.#queue(job.queue);
      q.settle(now);
      if (job.key !== null && (q.keys.has(job.key) || byKey.has(`${job.queue}\0${job.key}`))) continue;
      if (job.key !== null) byKey.add(`${job.queue}\0${job.key}`);
      fresh.set(job.queue, (fresh.get(job.queue) ?? 0) + 1);
    }
    for (const [queue, n] of fresh) {
      const limit = maxLength[queue];
      if (limit !== undefined && this.#queue(queue).queued + n > limit) {
        return { ok: false, fullQueue: queue, maxLength: limit };
      }
    }
    const ids: string[] = [];
    const created: boolean[] = [];
    const ready = new Set<string>();
    jobs.forEach((spec, index) => {
      const q = this.#queue(spec.queue);
      const existing = spec.key === null ? undefined : q.keys.get(spec.key);
      if (existing !== undefined) {
        ids.push(existing.id);
        created.push(false);
        return;
      }
      const seq = ++this.#seq;
      const at = locate === undefined ? -1 : locate(index);
      const job: Job = {
        id: String(seq),
        queue: q,
        seq,
        state: 'gone',
        payload: at < 0 ? spec.payload : null,
        at,
        size: spec.payload.byteLength,
        priority: spec.priority,
        attempts: 0,
        maxAttempts: spec.maxAttempts,
        nacks: 0,
        createdAt: now,
        availableAt: spec.availableAt,
        readyAt: spec.availableAt,
        expiresAt: spec.expiresAt,
        leaseUntil: null,
        visibilityMs: spec.visibilityMs,
        backoff: spec.backoff,
        key: spec.key,
        errors: [],
        result: null,
        finishedAt: null,
      };
      this.#jobs.set(job.id, job);
      q.admit(job, now);
      if (job.state === 'waiting') ready.add(q.name);
      ids.push(job.id);
      created.push(true);
    });
    for (const queue of ready) this.#emit({ kind: 'ready', queue });
    return { ok: true, ids, created };
  }

  lease({ now, queues, max, visibilityMs }: LeaseParams): LeaseResult {
    const leased: LeasedRecord[] = [];
    let nextAt: number | null = null;
    for (const name of queues) {
      const q = this.#queue(name);
      q.settle(now);
      if (q.paused) continue;
      while (leased.length < max) {
        const job = q.takeWaiting();
        if (job === undefined) break;
        q.lease(job, now, visibilityMs ?? job.visibilityMs);
        leased.push(this.#record(job, true) as LeasedRecord);
      }
      const next = q.nextAt();
      if (next !== null && (nextAt === null || next < nextAt)) nextAt = next;
    }
    return { jobs: leased, nextAt };
  }

  ack({ now, items, keep }: AckParams): readonly Settle[] {
    return items.map(({ token, result }): Settle => {
      const job = this.#leased(token, now);
      if (job === undefined) return 'lost';
      job.queue.complete(job, now, result, keep[job.queue.name] ?? { count: 0, ageMs: 0 });
      return 'ok';
    });
  }

  nack({ now, token, delayMs, error, dead, release }: NackParams): NackResult {
    const job = this.#leased(token, now);
    if (job === undefined) return { outcome: 'lost' };
    const q = job.queue;
    if (release) {
      // Back to its old place in line, as if it had never been leased.
      job.attempts--;
      job.leaseUntil = null;
      q.place(job, 'waiting');
      this.#emit({ kind: 'ready', queue: q.name });
      return { outcome: 'retry' };
    }
    job.nacks++;
    const outcome = q.fail(job, now, delayMs, error, dead);
    if (job.state === 'waiting') this.#emit({ kind: 'ready', queue: q.name });
    return { outcome };
  }

  extend({ now, token, ms }: ExtendParams): ExtendResult {
    const job = this.#leased(token, now);
    if (job === undefined) return { outcome: 'lost' };
    job.queue.extend(job, now + ms);
    return { outcome: 'ok', leaseUntil: now + ms };
  }

  get(ids: readonly string[], now: number): readonly (JobRecord | null)[] {
    return ids.map((id) => {
      const job = this.#jobs.get(id);
      if (job === undefined) return null;
      job.queue.settle(now);
      return job.state === 'gone' ? null : this.#record(job, false);
    });
  }

  peek(queue: string, limit: number, now: number): readonly JobRecord[] {
    const q = this.#queue(queue);
    q.settle(now);
    return q.waiting.smallest(limit, (j) => j.state === 'waiting').map((j) => this.#record(j, false));
  }

  list({ now, queue, state, cursor, limit }: ListParams): ListResult {
    const q = this.#queue(queue);
    q.settle(now);
    const all = q.inState(state);
    const from = cursor === null ? 0 : Number(cursor);
    const page = all.slice(from, from + limit).map((j) => this.#record(j, false));
    return { jobs: page, cursor: from + limit < all.length ? String(from + limit) : null };
  }

  counts(queues: readonly string[], now: number): readonly Counts[] {
    return queues.map((name) => {
      const q = this.#queue(name);
      q.settle(now);
      return q.counts();
    });
  }

  remove({ now, ids, states }: RemoveParams): readonly string[] {
    const removed: string[] = [];
    for (const id of ids) {
      const job = this.#jobs.get(id);
      if (job === undefined) continue;
      job.queue.settle(now);
      if (job.state === 'gone' || (states !== null && !states.includes(job.state))) continue;
      job.queue.drop(job, 'removed');
      removed.push(id);
    }
    return removed;
  }

  retryDead(queue: string, ids: readonly string[] | null, now: number): number {
    const q = this.#queue(queue);
    q.settle(now);
    const jobs = ids === null ? [...q.dead] : ids.map((id) => this.#jobs.get(id)).filter((j) => j?.queue === q);
    let n = 0;
    for (const job of jobs) {
      if (job?.state !== 'dead') continue;
      job.attempts = 0;
      job.finishedAt = null;
      q.requeue(job, now, now);
      n++;
    }
    if (n > 0) this.#emit({ kind: 'ready', queue });
    return n;
  }

  purge(queue: string, now: number): number {
    const q = this.#queue(queue);
    q.settle(now);
    const doomed = (['waiting', 'delayed', 'dead', 'completed'] as const).flatMap((s) => q.inState(s));
    for (const job of doomed) job.queue.drop(job, 'removed');
    return doomed.length;
  }

  setPaused(queue: string, paused: boolean, now: number): void {
    const q = this.#queue(queue);
    q.settle(now);
    q.paused = paused;
    if (!paused) this.#emit({ kind: 'ready', queue });
  }

  getMeta(names: readonly string[]): readonly (string | null)[] {
    return names.map((name) => this.#meta.get(name) ?? null);
  }

  setMeta(entries: Readonly<Record<string, string | null>>): void {
    for (const [name, value] of Object.entries(entries)) {
      if (value === null) this.#meta.delete(name);
      else this.#meta.set(name, value);
    }
  }

  listMeta(prefix: string): readonly string[] {
    return [...this.#meta.keys()].filter((name) => name.startsWith(prefix)).sort();
  }

  /** Points a job at a new copy of its payload (compaction moved it); its size, or -1 when it is gone. */
  relocate(id: string, at: number): number {
    const job = this.#jobs.get(id);
    if (job === undefined || job.state === 'gone' || job.at < 0) return -1;
    this.home?.release(job.at, job.size);
    job.at = at;
    return job.size;
  }

  /** Jobs whose payload the log keeps at a position in [from, to). */
  jobsAt(from: number, to: number): Job[] {
    const found: Job[] = [];
    for (const job of this.#jobs.values()) if (job.at >= from && job.at < to) found.push(job);
    return found;
  }

  /** The payload of a job, wherever it is kept. */
  payload(job: Job): Uint8Array {
    return job.payload ?? (this.home as PayloadHome).read(job.at, job.size);
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The whole state, for a checkpoint. It shares the jobs: encode it before the next call. */
  image(): TableImage {
    const queues = [...this.#queues.values()];
    const ordered = queues.flatMap((q) => [...q.inState('completed'), ...q.inState('dead')]);
    const rest = [...this.#jobs.values()].filter((j) => j.state !== 'completed' && j.state !== 'dead');
    return {
      nextSeq: this.nextSeq,
      queues: queues.map((q) => ({ name: q.name, paused: q.paused, expired: q.expired, retention: q.retention })),
      jobs: [...ordered, ...rest],
      meta: [...this.#meta],
    };
  }

  /** Loads a checkpoint's image into this empty table. */
  restore(image: TableImage<JobImage>): void {
    this.#seq = image.nextSeq - 1;
    for (const { name, paused, expired, retention } of image.queues) {
      const q = this.#queue(name);
      q.paused = paused;
      q.expired = expired;
      q.retention = retention;
    }
    for (const job of image.jobs) {
      const restored: Job = { ...job, queue: this.#queue(job.queue) };
      this.#jobs.set(restored.id, restored);
      restored.queue.restore(restored);
    }
    for (const [name, value] of image.meta) this.#meta.set(name, value);
  }

  /** The job behind a token whose lease is still current at `now`. */
  #leased(token: string, now: number): Job | undefined {
    const parsed = parseToken(token);
    if (parsed === null) return undefined;
    const job = this.#jobs.get(parsed.id);
    if (job === undefined) return undefined;
    job.queue.settle(now);
    const current = job.state === 'active' && job.attempts === parsed.attempt && (job.leaseUntil ?? 0) > now;
    return current ? job : undefined;
  }

  #record(job: Job, leased: boolean): JobRecord {
    return record(job, this.payload(job), leased);
  }

  #queue(name: string): QueueState {
    let q = this.#queues.get(name);
    if (q === undefined) {
      // The one place that forgets a job: every way out of the store passes through here.
      q = new QueueState(name, (job, outcome) => {
        if (job.state === 'gone') {
          this.#jobs.delete(job.id);
          if (job.at >= 0) this.home?.release(job.at, job.size);
        }
        if (outcome !== null) this.#emit({ kind: 'settled', queue: name, id: job.id, outcome });
      });
      this.#queues.set(name, q);
    }
    return q;
  }

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
