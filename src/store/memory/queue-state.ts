import { backoffDelayMs, errorHistory, formatToken } from '../contract.ts';
import type { Backoff, Counts, JobRecord, JobState, Outcome, Retention } from '../contract.ts';
import { Heap } from './heap.ts';

/** A job as the embedded stores hold it; `gone` once it left the store. */
export interface Job {
  readonly id: string;
  readonly queue: QueueState;
  readonly seq: number;
  state: JobState | 'gone';
  /** The bytes, when the table holds them; null when the log does (see `at`). */
  payload: Uint8Array | null;
  /** Where the log keeps the payload, or -1. */
  at: number;
  readonly size: number;
  readonly priority: number;
  attempts: number;
  readonly maxAttempts: number;
  nacks: number;
  readonly createdAt: number;
  availableAt: number;
  /** When the job last became leasable: its place in the waiting order after priority. */
  readyAt: number;
  readonly expiresAt: number | null;
  leaseUntil: number | null;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
  readonly key: string | null;
  errors: string[];
  result: Uint8Array | null;
  finishedAt: number | null;
}

interface LeaseEntry {
  readonly job: Job;
  readonly until: number;
  readonly attempt: number;
}

const waitingOrder = (a: Job, b: Job): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.readyAt !== b.readyAt ? a.readyAt < b.readyAt : a.seq < b.seq;

/** Entries of heaps that delete lazily are swept out once they outnumber the live ones. */
const sweepSlack = 1024;

/**
 * One queue's jobs, ordered for each duty: waiting by lease order, delayed by due time,
 * active by lease end, TTL by expiry. Heaps delete lazily: an entry counts only while its job
 * is still in the state the heap is for.
 */
export class QueueState {
  readonly waiting = new Heap<Job>(waitingOrder);
  readonly delayed = new Heap<Job>(
    (a, b) => a.availableAt < b.availableAt || (a.availableAt === b.availableAt && a.seq < b.seq),
  );
  readonly active = new Heap<LeaseEntry>((a, b) => a.until < b.until);
  readonly ttl = new Heap<Job>((a, b) => (a.expiresAt ?? 0) < (b.expiresAt ?? 0));
  /** Completed jobs oldest first, from `completedHead` on; `dead` keeps the order they died in. */
  completed: Job[] = [];
  completedHead = 0;
  readonly dead = new Set<Job>();
  readonly keys = new Map<string, Job>();
  readonly count: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, dead: 0, completed: 0 };
  expired = 0;
  ttlLive = 0;
  paused = false;
  retention: Retention = { count: 0, ageMs: 0 };

  constructor(
    readonly name: string,
    /** Tells the store a job left it or finished; a null outcome is a silent retention drop. */
    private readonly settled: (job: Job, outcome: Outcome | null) => void,
  ) {}

  get queued(): number {
    return this.count.waiting + this.count.delayed;
  }

  place(job: Job, state: JobState): void {
    if (job.state !== 'gone') this.count[job.state]--;
    if (job.state === 'dead') this.dead.delete(job);
    job.state = state;
    this.count[state]++;
    if (state === 'waiting') this.waiting.push(job);
    else if (state === 'delayed') this.delayed.push(job);
    else if (state === 'dead') this.dead.add(job);
    else if (state === 'completed') this.completed.push(job);
  }

  /** Adds a new job, already in the store's id table. */
  admit(job: Job, now: number): void {
    if (job.key !== null) this.keys.set(job.key, job);
    if (job.expiresAt !== null) {
      this.ttl.push(job);
      this.ttlLive++;
    }
    this.place(job, job.availableAt > now ? 'delayed' : 'waiting');
  }

  /** Puts a job from a checkpoint back where its state says, as it was. */
  restore(job: Job): void {
    const state = job.state as JobState;
    job.state = 'gone';
    if (job.key !== null) this.keys.set(job.key, job);
    if (job.expiresAt !== null) {
      this.ttl.push(job);
      this.ttlLive++;
    }
    this.place(job, state);
    if (state === 'active') this.#pushLease(job);
  }

  lease(job: Job, now: number, visibilityMs: number): void {
    job.attempts++;
    job.leaseUntil = now + visibilityMs;
    this.place(job, 'active');
    this.#pushLease(job);
  }

  extend(job: Job, until: number): void {
    job.leaseUntil = until;
    this.#pushLease(job);
  }

  /** The job's attempt failed: back to waiting after `delayMs`, or dead. */
  fail(job: Job, now: number, delayMs: number, error: string | null, dead: boolean): 'retry' | 'dead' {
    job.leaseUntil = null;
    if (error !== null) {
      job.errors.push(error);
      if (job.errors.length > errorHistory) job.errors.splice(0, job.errors.length - errorHistory);
    }
    if (dead || job.attempts >= job.maxAttempts) {
      job.finishedAt = now;
      this.place(job, 'dead');
      this.settled(job, 'dead');
      return 'dead';
    }
    this.requeue(job, now, now + delayMs);
    return 'retry';
  }

  requeue(job: Job, now: number, availableAt: number): void {
    job.availableAt = availableAt;
    job.readyAt = availableAt;
    this.place(job, availableAt > now ? 'delayed' : 'waiting');
  }

  complete(job: Job, now: number, result: Uint8Array | null, keep: Retention): void {
    job.leaseUntil = null;
    this.retention = keep;
    if (keep.count <= 0 || keep.ageMs <= 0) {
      this.drop(job, 'completed');
      return;
    }
    job.result = result;
    job.finishedAt = now;
    this.place(job, 'completed');
    this.settled(job, 'completed');
    this.#pruneCompleted(now);
  }

  /** Takes the job out of the store; tells watchers unless `outcome` is null (retention pruning). */
  drop(job: Job, outcome: Outcome | null): void {
    if (job.state === 'gone') return;
    this.count[job.state]--;
    if (job.state === 'dead') this.dead.delete(job);
    if (job.key !== null && this.keys.get(job.key) === job) this.keys.delete(job.key);
    if (job.expiresAt !== null) this.ttlLive--;
    job.state = 'gone';
    this.settled(job, outcome);
  }

  /** Applies what `now` makes due: TTLs, delays, expired leases, completed retention. */
  settle(now: number): void {
    for (let top = this.ttl.peek(); top !== undefined && (top.expiresAt ?? 0) <= now; top = this.ttl.peek()) {
      this.ttl.pop();
      if (top.state === 'gone') continue;
      this.expired++;
      this.drop(top, 'expired');
    }
    for (let top = this.delayed.peek(); top !== undefined && top.availableAt <= now; top = this.delayed.peek()) {
      this.delayed.pop();
      if (top.state === 'delayed') this.place(top, 'waiting');
    }
    for (let top = this.active.peek(); top !== undefined && top.until <= now; top = this.active.peek()) {
      this.active.pop();
      if (!this.#current(top)) continue;
      const job = top.job;
      // No jitter: expiries are spread in time already, and this keeps reclaim a pure function
      // of the job in every backend.
      const retryAt = top.until + backoffDelayMs(job.backoff, job.attempts, 0);
      job.leaseUntil = null;
      this.fail(job, now, retryAt - now, 'lease expired', false);
    }
    this.#pruneCompleted(now);
    if (this.ttl.size > 2 * this.ttlLive + sweepSlack) this.ttl.filter((j) => j.state !== 'gone');
    if (this.active.size > 2 * this.count.active + sweepSlack) this.active.filter((e) => this.#current(e));
  }

  /** The next time something here becomes leasable by itself, or null. */
  nextAt(): number | null {
    while (this.delayed.size > 0 && (this.delayed.peek() as Job).state !== 'delayed') this.delayed.pop();
    while (this.active.size > 0 && !this.#current(this.active.peek() as LeaseEntry)) this.active.pop();
    const a = this.delayed.peek()?.availableAt;
    const b = this.active.peek()?.until;
    if (a === undefined) return b ?? null;
    return b === undefined ? a : Math.min(a, b);
  }

  takeWaiting(): Job | undefined {
    for (let top = this.waiting.pop(); top !== undefined; top = this.waiting.pop()) {
      if (top.state === 'waiting') return top;
    }
    return undefined;
  }

  counts(): Counts {
    return { ...this.count, expired: this.expired, paused: this.paused };
  }

  /** Jobs in `state`, in the order a listing shows them. */
  inState(state: JobState): Job[] {
    switch (state) {
      case 'waiting':
        return this.waiting.smallest(this.count.waiting, (j) => j.state === 'waiting');
      case 'delayed':
        return this.delayed.smallest(this.count.delayed, (j) => j.state === 'delayed');
      case 'active':
        return this.active.smallest(this.active.size, (e) => this.#current(e)).map((e) => e.job);
      case 'dead':
        return [...this.dead];
      case 'completed':
        return this.completed.slice(this.completedHead).filter((j) => j.state === 'completed');
    }
  }

  #current(entry: LeaseEntry): boolean {
    const job = entry.job;
    return job.state === 'active' && job.attempts === entry.attempt && job.leaseUntil === entry.until;
  }

  #pushLease(job: Job): void {
    this.active.push({ job, until: job.leaseUntil as number, attempt: job.attempts });
  }

  #pruneCompleted(now: number): void {
    const { count, ageMs } = this.retention;
    const list = this.completed;
    let head = this.completedHead;
    for (; head < list.length; head++) {
      const job = list[head] as Job;
      if (job.state === 'completed') {
        if (this.count.completed <= count && (job.finishedAt ?? 0) > now - ageMs) break;
        this.drop(job, null);
      }
    }
    if (head === list.length) {
      this.completed = [];
      this.completedHead = 0;
    } else if (head > sweepSlack && head * 2 > list.length) {
      this.completed = list.slice(head);
      this.completedHead = 0;
    } else {
      this.completedHead = head;
    }
  }
}

/** The job as the contract shows it; a leased one carries its token. */
export function record(job: Job, payload: Uint8Array, leased: boolean): JobRecord {
  const shown: JobRecord & { token?: string } = {
    id: job.id,
    queue: job.queue.name,
    state: job.state as JobState,
    payload,
    priority: job.priority,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    nacks: job.nacks,
    createdAt: job.createdAt,
    availableAt: job.availableAt,
    expiresAt: job.expiresAt,
    leaseUntil: job.leaseUntil,
    visibilityMs: job.visibilityMs,
    backoff: job.backoff,
    key: job.key,
    errors: [...job.errors],
    result: job.result,
    finishedAt: job.finishedAt,
  };
  if (leased) shown.token = formatToken(job.id, job.attempts);
  return shown;
}
