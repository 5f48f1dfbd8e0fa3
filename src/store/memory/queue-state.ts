import { errorHistory } from '../contract.ts';
import { defaultQueueSettings } from '../contract.ts';
import type { Counts, JobEnd, JobState, QueueSettings } from '../contract.ts';
import { gone, rowOf, stateCode, stateName } from './columns.ts';
import type { Columns } from './columns.ts';
import { KeyHeap, sweepSlack } from './key-heap.ts';
import { WaitingLine } from './waiting-line.ts';

const { delayed, active, dead, completed } = stateCode;

/**
 * One queue's jobs, by sequence number, ordered for each duty: waiting by lease order (see
 * waiting-line.ts), delayed by due time, active by lease end, TTL by expiry. Heaps delete lazily:
 * an entry counts only while its keys still match the job's columns.
 */
export class QueueState {
  readonly waiting: WaitingLine;
  /** a = when it is due. */
  readonly delayed = new KeyHeap(1);
  /** a = lease end, b = attempt. */
  readonly active = new KeyHeap(2);
  /** a = expiry. */
  readonly ttl = new KeyHeap(1);
  /** Completed jobs oldest first, from `completedHead` on; `dead` keeps the order they died in. */
  completed: number[] = [];
  completedHead = 0;
  readonly dead = new Set<number>();
  readonly keys = new Map<string, number>();
  readonly count: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, dead: 0, completed: 0 };
  expired = 0;
  ttlLive = 0;
  /** As stored (`configure`), or the defaults. */
  settings: QueueSettings = defaultQueueSettings;
  /**
   * Every lease blocked on this queue wakes by then, as far as the store told them: a job that
   * falls due sooner is announced (`due`). -Infinity while nobody was told anything.
   */
  #wakeBy = -Infinity;

  constructor(
    readonly name: string,
    readonly index: number,
    private readonly cols: Columns,
    /** Tells the store a job ended or left it; a null end is a silent retention drop. */
    private readonly ended: (seq: number, end: JobEnd | null, result?: Uint8Array | null) => void,
    /** Tells the store's watchers something here falls due at `at`, sooner than they were told. */
    private readonly due: (at: number) => void,
  ) {
    this.waiting = new WaitingLine(cols);
  }

  get queued(): number {
    return this.count.waiting + this.count.delayed;
  }

  place(seq: number, state: JobState): void {
    const page = this.cols.page(seq);
    const row = rowOf(seq);
    const from = page.state.get(row);
    if (from !== gone) this.count[nameOf(from)]--;
    if (from === dead) this.dead.delete(seq);
    page.state.set(row, stateCode[state]);
    this.count[state]++;
    if (state === 'waiting') this.waiting.push(seq, page.priority.get(row), page.availableAt.get(row));
    else if (state === 'delayed') {
      this.delayed.push(page.availableAt.get(row), 0, seq);
      this.#announce(page.availableAt.get(row));
    } else if (state === 'dead') this.dead.add(seq);
    else if (state === 'completed') this.completed.push(seq);
  }

  /** Adds a new job whose columns are set and whose state is still `gone`: it waits or is delayed. */
  admit(seq: number, now: number, key: string | null): 'waiting' | 'delayed' {
    this.#index(seq, key);
    const state = this.cols.page(seq).availableAt.get(rowOf(seq)) > now ? 'delayed' : 'waiting';
    this.place(seq, state);
    return state;
  }

  /** Puts a job from a checkpoint back where its state says, as it was. */
  restore(seq: number, state: JobState): void {
    this.cols.page(seq).state.set(rowOf(seq), gone);
    this.#index(seq, this.cols.keys.get(seq) ?? null);
    this.place(seq, state);
    if (state === 'active') this.#pushLease(seq);
  }

  /** Enters a job coming into the queue under its key (given: no lookup for the usual none) and in the TTL heap. */
  #index(seq: number, key: string | null): void {
    if (key !== null) this.keys.set(key, seq);
    const expiresAt = this.cols.page(seq).expiresAt.get(rowOf(seq));
    if (!Number.isNaN(expiresAt)) {
      this.ttl.push(expiresAt, 0, seq);
      this.ttlLive++;
    }
  }

  lease(seq: number, now: number, visibilityMs: number): void {
    const page = this.cols.page(seq);
    const row = rowOf(seq);
    page.attempts.set(row, page.attempts.get(row) + 1);
    page.until.set(row, now + visibilityMs);
    this.place(seq, 'active');
    this.#pushLease(seq);
    this.#announce(now + visibilityMs);
  }

  /** A lease found nothing here at `now` and sleeps until `nextAt` at most. */
  told(now: number, nextAt: number | null): void {
    const at = nextAt ?? Infinity;
    // Once past, the leases it covered have woken and ask again, each telling its own time.
    this.#wakeBy = this.#wakeBy <= now ? at : Math.max(this.#wakeBy, at);
  }

  #announce(at: number): void {
    if (at >= this.#wakeBy) return;
    this.#wakeBy = at;
    this.due(at);
  }

  extend(seq: number, until: number): void {
    this.cols.page(seq).until.set(rowOf(seq), until);
    this.#pushLease(seq);
    // An extend may end the lease sooner than it did (job.extend('1m') on a lease of an hour).
    this.#announce(until);
  }

  /** The job's attempt failed: back to waiting after `delayMs`, or dead. */
  fail(seq: number, now: number, delayMs: number, error: string | null, goDead: boolean): 'retry' | 'dead' {
    const page = this.cols.page(seq);
    const row = rowOf(seq);
    page.until.set(row, Number.NaN);
    if (error !== null) {
      const errors = this.cols.errors.get(seq) ?? [];
      errors.push(error);
      if (errors.length > errorHistory) errors.splice(0, errors.length - errorHistory);
      this.cols.errors.set(seq, errors);
    }
    if (goDead || page.attempts.get(row) >= this.cols.profile(seq).maxAttempts) {
      page.until.set(row, now);
      this.place(seq, 'dead');
      this.ended(seq, 'dead');
      this.#pruneDead(now);
      return 'dead';
    }
    this.requeue(seq, now, now + delayMs);
    return 'retry';
  }

  requeue(seq: number, now: number, availableAt: number): void {
    this.cols.page(seq).availableAt.set(rowOf(seq), availableAt);
    this.place(seq, availableAt > now ? 'delayed' : 'waiting');
  }

  /** Waiting jobs out of line, each due again after its own visibility (a DEQUEUE). */
  hold(seqs: ReadonlySet<number>, now: number): void {
    this.waiting.forget(seqs);
    for (const seq of seqs) this.requeue(seq, now, now + this.cols.profile(seq).visibilityMs);
  }

  complete(seq: number, now: number, result: Uint8Array | null): void {
    const page = this.cols.page(seq);
    const row = rowOf(seq);
    const keep = this.settings.keepCompleted;
    if (keep.count <= 0 || keep.ageMs <= 0) {
      page.until.set(row, Number.NaN);
      // Not kept: the result goes with the event, for a waitFor already waiting on the job.
      this.drop(seq, 'completed', result);
      return;
    }
    if (result !== null) this.cols.results.set(seq, result);
    page.until.set(row, now);
    this.place(seq, 'completed');
    this.ended(seq, 'completed');
    this.#pruneCompleted(now);
  }

  /** Takes the job out of the store; tells watchers unless `end` is null (retention pruning). */
  drop(seq: number, end: JobEnd | null, result?: Uint8Array | null): void {
    const page = this.cols.page(seq);
    const row = rowOf(seq);
    const code = page.state.get(row);
    if (code === gone) return;
    this.count[nameOf(code)]--;
    if (code === dead) this.dead.delete(seq);
    const key = this.cols.keys.get(seq);
    if (key !== undefined && this.keys.get(key) === seq) this.keys.delete(key);
    if (!Number.isNaN(page.expiresAt.get(row))) this.ttlLive--;
    page.state.set(row, gone);
    this.ended(seq, end, result);
  }

  /** Applies what `now` makes due: TTLs, delays, expired leases, completed retention. */
  settle(now: number): void {
    const cols = this.cols;
    for (const ttl = this.ttl; ttl.size > 0 && ttl.topA <= now;) {
      const seq = ttl.topSeq;
      ttl.pop();
      if (cols.state(seq) === gone) continue;
      this.expired++;
      this.drop(seq, 'expired');
    }
    for (const d = this.delayed; d.size > 0 && d.topA <= now;) {
      const seq = d.topSeq;
      const due = d.topA;
      d.pop();
      if (cols.state(seq) === delayed && cols.page(seq).availableAt.get(rowOf(seq)) === due) this.place(seq, 'waiting');
    }
    for (const a = this.active; a.size > 0 && a.topA <= now;) {
      const seq = a.topSeq;
      const until = a.topA;
      const attempt = a.topB;
      a.pop();
      if (!this.#current(until, attempt, seq)) continue;
      // Reclaim (contract.ts): back in line as of the lease's end, no back-off; the attempt counts.
      this.fail(seq, now, until - now, 'lease expired', false);
    }
    this.#pruneCompleted(now);
    this.#pruneDead(now);
    if (this.ttl.size > 2 * this.ttlLive + sweepSlack) this.ttl.filter((a, _b, seq) => this.#ttlLive(a, seq));
    if (this.active.size > 2 * this.count.active + sweepSlack)
      this.active.filter((a, b, seq) => this.#current(a, b, seq));
    this.waiting.sweep(this.count.waiting);
    if (this.delayed.size > 2 * this.count.delayed + sweepSlack)
      this.delayed.filter((a, _b, seq) => this.#delayedEntry(a, seq));
  }

  /** The next time something here becomes leasable by itself, or null. */
  nextAt(): number | null {
    const d = this.delayed;
    while (d.size > 0 && !this.#delayedEntry(d.topA, d.topSeq)) d.pop();
    const a = this.active;
    while (a.size > 0 && !this.#current(a.topA, a.topB, a.topSeq)) a.pop();
    const due = d.size > 0 ? d.topA : null;
    const end = a.size > 0 ? a.topA : null;
    if (due === null) return end;
    return end === null ? due : Math.min(due, end);
  }

  counts(): Counts {
    return { ...this.count, expired: this.expired, paused: this.settings.paused };
  }

  /** Jobs in `state`, in the order a listing shows them: `limit` of them after the first `skip`. */
  inState(state: JobState, limit = Infinity, skip = 0): number[] {
    if (state === 'waiting') return this.waiting.first(limit, skip);
    return this.#allIn(state).slice(skip, skip + limit);
  }

  #allIn(state: Exclude<JobState, 'waiting'>): number[] {
    switch (state) {
      case 'delayed':
        return unique(this.delayed.smallest(Infinity, (a, _b, seq) => this.#delayedEntry(a, seq)));
      case 'active':
        return unique(this.active.smallest(Infinity, (a, b, seq) => this.#current(a, b, seq)));
      case 'dead':
        return [...this.dead];
      case 'completed':
        return this.completed.slice(this.completedHead).filter((seq) => this.cols.state(seq) === completed);
    }
  }

  #delayedEntry(a: number, seq: number): boolean {
    return this.cols.state(seq) === delayed && this.cols.page(seq).availableAt.get(rowOf(seq)) === a;
  }

  #current(until: number, attempt: number, seq: number): boolean {
    if (this.cols.state(seq) !== active) return false;
    const page = this.cols.page(seq);
    return page.attempts.get(rowOf(seq)) === attempt && page.until.get(rowOf(seq)) === until;
  }

  #ttlLive(expiresAt: number, seq: number): boolean {
    return this.cols.state(seq) !== gone && this.cols.page(seq).expiresAt.get(rowOf(seq)) === expiresAt;
  }

  #pushLease(seq: number): void {
    const page = this.cols.page(seq);
    this.active.push(page.until.get(rowOf(seq)), page.attempts.get(rowOf(seq)), seq);
  }

  #pruneCompleted(now: number): void {
    const { count, ageMs } = this.settings.keepCompleted;
    const list = this.completed;
    let head = this.completedHead;
    for (; head < list.length; head++) {
      const seq = list[head] as number;
      if (this.cols.state(seq) === completed) {
        if (this.count.completed <= count && this.cols.page(seq).until.get(rowOf(seq)) > now - ageMs) break;
        this.drop(seq, null);
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

  /** Drops the dead jobs past `keepDead`, the oldest death first (the set keeps that order), silently. */
  #pruneDead(now: number): void {
    const { count, ageMs } = this.settings.keepDead;
    if (this.count.dead <= count && ageMs === Infinity) return;
    for (const seq of this.dead) {
      if (this.count.dead <= count && this.cols.page(seq).until.get(rowOf(seq)) > now - ageMs) break;
      // A Set may lose the entry being visited: the iteration goes on with the next.
      this.drop(seq, null);
    }
  }
}

/** The name of a state code other than `gone`. */
function nameOf(code: number): JobState {
  return stateName[code] as JobState;
}

function unique(seqs: number[]): number[] {
  return [...new Set(seqs)];
}
