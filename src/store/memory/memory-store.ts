import { ClosedError } from '../../errors.ts';
import { parseToken } from '../contract.ts';
import type {
  AckParams,
  AddParams,
  AddResult,
  Capabilities,
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
  Settle,
  Store,
  StoreEvent,
} from '../contract.ts';
import { QueueState, leasedSnapshot, snapshot } from './queue-state.ts';
import type { Job } from './queue-state.ts';

/** The whole Store contract in one process's memory: `memory:`. Nothing survives the process. */
export class MemoryStore implements Store {
  readonly capabilities: Capabilities = Object.freeze({
    durable: 'none',
    shared: false,
    clock: 'injected',
    maxReplicas: 0,
  });

  readonly #jobs = new Map<string, Job>();
  readonly #queues = new Map<string, QueueState>();
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  readonly #meta = new Map<string, string>();
  #seq = 0;
  #closed = false;

  /** The sequence number, and so the id, the next new job gets: the file store logs it so a replay keeps ids. */
  get nextSeq(): number {
    return this.#seq + 1;
  }

  set nextSeq(value: number) {
    this.#seq = value - 1;
  }

  add({ now, jobs, maxLength }: AddParams): Promise<AddResult> {
    return this.#run(() => {
      // Check the whole batch before changing anything: a batch is added whole or not at all.
      const fresh = new Map<string, number>();
      const byKey = new Map<string, string>();
      for (const job of jobs) {
        const q = this.#queue(job.queue);
        q.settle(now);
        if (job.key !== null && (q.keys.has(job.key) || byKey.has(`${job.queue}\0${job.key}`))) continue;
        if (job.key !== null) byKey.set(`${job.queue}\0${job.key}`, '');
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
      for (const spec of jobs) {
        const q = this.#queue(spec.queue);
        const existing = spec.key === null ? undefined : q.keys.get(spec.key);
        if (existing !== undefined) {
          ids.push(existing.id);
          created.push(false);
          continue;
        }
        const seq = ++this.#seq;
        const job: Job = {
          id: String(seq),
          queue: q,
          seq,
          state: 'gone',
          payload: spec.payload,
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
      }
      for (const queue of ready) this.#emit({ kind: 'ready', queue });
      return { ok: true, ids, created };
    });
  }

  lease({ now, queues, max, visibilityMs }: LeaseParams): Promise<LeaseResult> {
    return this.#run(() => {
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
          leased.push(leasedSnapshot(job));
        }
        const next = q.nextAt();
        if (next !== null && (nextAt === null || next < nextAt)) nextAt = next;
      }
      return { jobs: leased, nextAt };
    });
  }

  ack({ now, items, keep }: AckParams): Promise<readonly Settle[]> {
    return this.#run(() => {
      return items.map(({ token, result }): Settle => {
        const job = this.#leased(token, now);
        if (job === undefined) return 'lost';
        job.queue.complete(job, now, result, keep[job.queue.name] ?? { count: 0, ageMs: 0 });
        return 'ok';
      });
    });
  }

  nack({ now, token, delayMs, error, dead, release }: NackParams): Promise<NackResult> {
    return this.#run(() => {
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
    });
  }

  extend({ now, token, ms }: ExtendParams): Promise<ExtendResult> {
    return this.#run(() => {
      const job = this.#leased(token, now);
      if (job === undefined) return { outcome: 'lost' };
      job.queue.extend(job, now + ms);
      return { outcome: 'ok', leaseUntil: now + ms };
    });
  }

  get(ids: readonly string[], now: number): Promise<readonly (JobRecord | null)[]> {
    return this.#run(() => {
      return ids.map((id) => {
        const job = this.#jobs.get(id);
        if (job === undefined) return null;
        job.queue.settle(now);
        return job.state === 'gone' ? null : snapshot(job);
      });
    });
  }

  peek(queue: string, limit: number, now: number): Promise<readonly JobRecord[]> {
    return this.#run(() => {
      const q = this.#queue(queue);
      q.settle(now);
      return q.waiting.smallest(limit, (j) => j.state === 'waiting').map(snapshot);
    });
  }

  list({ now, queue, state, cursor, limit }: ListParams): Promise<ListResult> {
    return this.#run(() => {
      const q = this.#queue(queue);
      q.settle(now);
      const all = q.inState(state);
      const from = cursor === null ? 0 : Number(cursor);
      const page = all.slice(from, from + limit).map(snapshot);
      return { jobs: page, cursor: from + limit < all.length ? String(from + limit) : null };
    });
  }

  counts(queues: readonly string[], now: number): Promise<readonly Counts[]> {
    return this.#run(() => {
      return queues.map((name) => {
        const q = this.#queue(name);
        q.settle(now);
        return q.counts();
      });
    });
  }

  remove({ now, ids, states }: RemoveParams): Promise<readonly string[]> {
    return this.#run(() => {
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
    });
  }

  retryDead(queue: string, ids: readonly string[] | null, now: number): Promise<number> {
    return this.#run(() => {
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
    });
  }

  purge(queue: string, now: number): Promise<number> {
    return this.#run(() => {
      const q = this.#queue(queue);
      q.settle(now);
      const doomed = (['waiting', 'delayed', 'dead', 'completed'] as const).flatMap((s) => q.inState(s));
      for (const job of doomed) job.queue.drop(job, 'removed');
      return doomed.length;
    });
  }

  setPaused(queue: string, paused: boolean, now: number): Promise<void> {
    return this.#run(() => {
      const q = this.#queue(queue);
      q.settle(now);
      q.paused = paused;
      if (!paused) this.#emit({ kind: 'ready', queue });
      return;
    });
  }

  getMeta(names: readonly string[]): Promise<readonly (string | null)[]> {
    return this.#run(() => names.map((name) => this.#meta.get(name) ?? null));
  }

  setMeta(entries: Readonly<Record<string, string | null>>): Promise<void> {
    return this.#run(() => {
      for (const [name, value] of Object.entries(entries)) {
        if (value === null) this.#meta.delete(name);
        else this.#meta.set(name, value);
      }
    });
  }

  listMeta(prefix: string): Promise<readonly string[]> {
    return this.#run(() => [...this.#meta.keys()].filter((name) => name.startsWith(prefix)).sort());
  }

  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    return Promise.resolve(() => {
      this.#listeners.delete(listener);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    return Promise.resolve();
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

  #queue(name: string): QueueState {
    let q = this.#queues.get(name);
    if (q === undefined) {
      // The one place that forgets a job: every way out of the store passes through here.
      q = new QueueState(name, (job, outcome) => {
        if (job.state === 'gone') this.#jobs.delete(job.id);
        if (outcome !== null) this.#emit({ kind: 'settled', queue: name, id: job.id, outcome });
      });
      this.#queues.set(name, q);
    }
    return q;
  }

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Runs one operation; a closed store or a throw becomes a rejection, never a synchronous throw. */
  #run<T>(operation: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('store'));
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
