// The Store contract's rules on rows (rows.ts): the job table of the stores that keep their jobs
// in a database (SQLite, LevelDB), as synchronous calls run inside one of the database's
// transactions. It mirrors the memory store's engine (memory/engine.ts, queue-state.ts) rule for
// rule; the conformance suite holds both to the same behaviour.
import { StorageError } from '../../errors.ts';
import { errorHistory, formatToken, inScope, parseToken } from '../contract.ts';
import type {
  AckParams,
  QueueScope,
  AddParams,
  AddResult,
  Counts,
  ExtendParams,
  ExtendResult,
  JobRecord,
  JobState,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  GetMetaParams,
  HoldParams,
  IdsParams,
  JobEnd,
  ListMetaParams,
  ConfigureParams,
  QueueSettings,
  PeekParams,
  PromoteParams,
  PurgeParams,
  QueuesParams,
  RemoveParams,
  AckResult,
  RetryDeadParams,
  SetMetaParams,
  ChangeEvent,
  TokensParams,
} from '../contract.ts';
import { TokenSealer, tokenKeyName } from '../memory/token-seal.ts';
import { newQueueRow } from './rows.ts';
import type { QueueRow, Row, Rows } from './rows.ts';

/** Ids are decimal sequence numbers; beyond this a double no longer counts by one. */
const maxSeq = Number.MAX_SAFE_INTEGER;

/**
 * A queue as one call sees it. `row` is the stored row until the call's first change to it, then
 * the call's own copy (`dirty`), changed in place: a store may keep the row it read (LevelDB's
 * view), which stays as it was if the call rolls back.
 */
type Queue = { row: WritableQueueRow; dirty: boolean; settledAt: number | null };
type WritableQueueRow = { -readonly [K in keyof QueueRow]: QueueRow[K] };

/**
 * One call's work: the queue rows it read (written back once, at its end) and the events it
 * makes, sent by the store only once the call's transaction committed.
 */
/** The sequence number a job id names, or null: an id is the decimal form the store hands out. */
export function seqOf(id: string): number | null {
  const seq = Number(id);
  return Number.isSafeInteger(seq) && seq >= 1 && String(seq) === id ? seq : null;
}

export class RowEngine {
  #queues = new Map<string, Queue>();
  #events: ChangeEvent[] = [];
  #sealer: TokenSealer;
  /** Rows changed so far: a row read before a settle that changed none is still current. */
  #writes = 0;

  constructor(private readonly rows: Rows) {
    const key = rows.getMeta(tokenKeyName);
    if (key === null) throw new StorageError('the store has no token key');
    this.#sealer = new TokenSealer(key);
  }

  /** Runs one call; its queue rows are written back and its events returned with its result. */
  call<T>(run: (engine: this) => T): { result: T; events: ChangeEvent[] } {
    this.#queues = new Map();
    this.#events = [];
    const result = run(this);
    for (const q of this.#queues.values()) if (q.dirty) this.rows.putQueue(q.row);
    return { result, events: this.#events };
  }

  add({ now, jobs }: AddParams): AddResult {
    const fresh = new Map<string, number>();
    const batchKeys = new Set<string>();
    for (const job of jobs) {
      this.#settled(job.queue, now);
      if (job.key !== null) {
        const both = `${job.queue}\0${job.key}`;
        if (batchKeys.has(both) || this.rows.byKey(job.queue, job.key) !== null) continue;
        batchKeys.add(both);
      }
      fresh.set(job.queue, (fresh.get(job.queue) ?? 0) + 1);
    }
    for (const [queue, n] of fresh) {
      const { row } = this.#queue(queue);
      const limit = row.settings.maxLength;
      if (limit !== null && row.waiting + row.delayed + n > limit)
        return { ok: false, fullQueue: queue, maxLength: limit };
    }
    for (const job of jobs) {
      const q = this.#queue(job.queue);
      if (!q.row.known) this.#set(q, { known: true });
    }
    const total = [...fresh.values()].reduce((a, b) => a + b, 0);
    let seq = total === 0 ? 0 : this.rows.allocSeqs(total);
    if (seq + total > maxSeq) throw new StorageError('this store has handed out every job id it can');
    const ids: string[] = [];
    const created: boolean[] = [];
    const ready = new Set<string>();
    for (const spec of jobs) {
      const existing = spec.key === null ? null : this.rows.byKey(spec.queue, spec.key);
      if (existing !== null) {
        ids.push(String(existing));
        created.push(false);
        continue;
      }
      const q = this.#queue(spec.queue);
      const state = spec.availableAt > now ? 'delayed' : 'waiting';
      const row: Row = {
        seq,
        queue: spec.queue,
        state,
        priority: spec.priority,
        attempts: 0,
        maxAttempts: spec.maxAttempts,
        nacks: 0,
        createdAt: now,
        availableAt: spec.availableAt,
        expiresAt: spec.expiresAt,
        until: null,
        finish: null,
        visibilityMs: spec.visibilityMs,
        backoff: spec.backoff,
        key: spec.key,
        errors: [],
        result: null,
      };
      this.rows.insert(row, spec.payload);
      this.#due(q, row);
      this.#count(q, null, state);
      if (state === 'delayed') this.#announce(q, spec.availableAt);
      else ready.add(spec.queue);
      ids.push(String(seq++));
      created.push(true);
    }
    for (const queue of ready) this.#emit({ kind: 'ready', queue });
    return { ok: true, ids, created };
  }

  lease({ now, queues, max, visibilityMs }: LeaseParams): LeaseResult {
    const leased: Row[] = [];
    let nextAt: number | null = null;
    for (const name of queues) {
      const q = this.#settled(name, now);
      if (q.row.settings.paused) continue;
      if (leased.length < max) {
        for (const row of this.rows.waiting(name, max - leased.length)) {
          const until = now + (visibilityMs ?? row.visibilityMs);
          leased.push(this.#move(q, row, { state: 'active', attempts: row.attempts + 1, until }));
          this.#announce(q, until);
        }
      }
      const next = this.rows.nextAt(name);
      if (leased.length === 0) this.#told(q, now, next);
      if (next !== null && (nextAt === null || next < nextAt)) nextAt = next;
    }
    return { jobs: leased.map((row) => this.#leasedRecord(row)), nextAt };
  }

  ack({ now, items, scope }: AckParams): AckResult[] {
    const kept = new Set<Queue>();
    const answers = items.map(({ token, result }): AckResult => {
      // Before anything is applied to the job's queue: a token outside the scope changes nothing.
      if (scope !== undefined && !this.#inScope(token, scope)) return null;
      const row = this.#leased(token, now);
      if (row === null) return null;
      const q = this.#queue(row.queue);
      const retention = q.row.settings.keepCompleted;
      if (retention.count <= 0 || retention.ageMs <= 0) {
        // Not kept: the result goes with the event, for a waitFor already waiting on the job.
        this.#drop(q, row, 'completed', result);
        return row.queue;
      }
      if (q.row.completed === 0) this.#set(q, { pruneAt: now });
      this.#move(q, row, { state: 'completed', result, until: now, finish: this.#finish(q) });
      this.#emit({ kind: 'ended', queue: row.queue, id: String(row.seq), end: 'completed' });
      kept.add(q);
      return row.queue;
    });
    // Once for the call, not per ack: a worker's acks come in batches, and the oldest jobs past
    // the retention go in one statement (the per-ack read and delete were a fifth of an ack).
    for (const q of kept) this.#prune(q, now);
    return answers;
  }

  /** Whether the job `token` names is in a queue of `scope`, changing nothing; false when there is no such job. */
  #inScope(token: string, scope: QueueScope): boolean {
    const parsed = parseToken(token);
    const row = parsed === null ? null : this.#job(parsed.id);
    return row !== null && inScope(scope, row.queue);
  }

  nack({ now, token, delayMs, error, kind }: NackParams): NackResult {
    const row = this.#leased(token, now);
    if (row === null) return { outcome: 'lost' };
    const q = this.#queue(row.queue);
    if (kind === 'release' || (kind === 'requeue' && row.attempts < row.maxAttempts)) {
      // Back to its old place in line, or due after a release's delay; a release as if the job
      // had never been leased, a requeue with its attempt counted.
      const back = { attempts: kind === 'release' ? row.attempts - 1 : row.attempts, until: null };
      if (kind === 'release' && delayMs > 0) this.#requeue(q, row, now, now + delayMs, back);
      else {
        this.#move(q, row, { ...back, state: 'waiting' });
        this.#emit({ kind: 'ready', queue: row.queue });
      }
      return { outcome: 'retry' };
    }
    // A requeue on the last attempt goes dead as a reclaim does: its error kept, no nack counted.
    const counted = kind === 'requeue' ? row : { ...row, nacks: Math.min(row.nacks + 1, 0xffff) };
    const outcome = this.#fail(q, counted, now, delayMs, error, kind === 'dead', row);
    if (outcome === 'waiting') this.#emit({ kind: 'ready', queue: row.queue });
    return { outcome: outcome === 'dead' ? 'dead' : 'retry' };
  }

  extend({ now, token, ms }: ExtendParams): ExtendResult {
    const row = this.#leased(token, now);
    if (row === null) return { outcome: 'lost' };
    const q = this.#queue(row.queue);
    this.#move(q, row, { until: now + ms });
    // An extend may end the lease sooner than it did (job.extend('1m') on a lease of an hour).
    this.#announce(q, now + ms);
    return { outcome: 'ok', leaseUntil: now + ms };
  }

  leases({ tokens, now }: TokensParams): (LeasedRecord | null)[] {
    return tokens.map((token) => {
      const row = this.#leased(token, now);
      return row === null ? null : this.#leasedRecord(row);
    });
  }

  leasesOf({ ids, now }: IdsParams): (LeasedRecord | null)[] {
    return ids.map((id) => {
      const row = this.#current(id, now);
      return row === null || row.state !== 'active' || (row.until as number) <= now ? null : this.#leasedRecord(row);
    });
  }

  get({ ids, now }: IdsParams): (JobRecord | null)[] {
    return ids.map((id) => {
      const row = this.#current(id, now);
      return row === null ? null : this.#record(row);
    });
  }

  peek({ queue, limit, now }: PeekParams): JobRecord[] {
    this.#settled(queue, now);
    return this.rows.waiting(queue, limit).map((row) => this.#record(row));
  }

  list({ now, queue, state, cursor, limit }: ListParams): ListResult {
    this.#settled(queue, now);
    const from = cursor === null ? 0 : Number(cursor);
    const rows =
      state === 'waiting'
        ? this.rows.waiting(queue, limit + 1, from)
        : this.rows.inState(queue, state, limit + 1, from);
    const more = rows.length > limit;
    return {
      jobs: rows.slice(0, limit).map((row) => this.#record(row)),
      cursor: more ? String(from + limit) : null,
    };
  }

  counts({ queues, now }: QueuesParams): Counts[] {
    return queues.map((name) => {
      const { row } = this.#settled(name, now);
      const { waiting, delayed, active, dead, completed, expired } = row;
      return { waiting, delayed, active, dead, completed, expired, paused: row.settings.paused };
    });
  }

  remove({ now, ids, states }: RemoveParams): string[] {
    const removed: string[] = [];
    for (const id of ids) {
      const row = this.#current(id, now);
      if (row === null || (states !== null && !states.includes(row.state))) continue;
      this.#drop(this.#queue(row.queue), row, 'removed');
      removed.push(id);
    }
    return removed;
  }

  hold({ now, ids }: HoldParams): string[] {
    const held: string[] = [];
    for (const id of ids) {
      const row = this.#current(id, now);
      if (row === null || row.state !== 'waiting') continue;
      this.#requeue(this.#queue(row.queue), row, now, now + row.visibilityMs, {});
      held.push(id);
    }
    return held;
  }

  retryDead({ queue, ids, now }: RetryDeadParams): number {
    return this.#back(queue, 'dead', ids, now);
  }

  promote({ queue, ids, now }: PromoteParams): number {
    return this.#back(queue, 'delayed', ids, now);
  }

  /** The jobs `ids` of `queue`, or all, that are `state` back to waiting now; dead ones with fresh attempts. */
  #back(queue: string, state: 'dead' | 'delayed', ids: readonly string[] | null, now: number): number {
    const q = this.#settled(queue, now);
    const rows =
      ids === null
        ? this.rows.inState(queue, state, Infinity, 0)
        : ids.map((id) => this.#job(id)).filter((row): row is Row => row !== null);
    const fresh = state === 'dead' ? { attempts: 0, until: null, finish: null } : {};
    let n = 0;
    for (const row of rows) {
      if (row.state !== state || row.queue !== queue) continue;
      this.#requeue(q, row, now, now, fresh);
      n++;
    }
    if (n > 0) this.#emit({ kind: 'ready', queue });
    return n;
  }

  purge({ queue, now }: PurgeParams): number {
    const q = this.#settled(queue, now);
    const doomed = [
      ...this.rows.waiting(queue, Infinity),
      ...(['delayed', 'dead', 'completed'] as const).flatMap((s) => this.rows.inState(queue, s, Infinity, 0)),
    ];
    for (const row of doomed) this.#drop(q, row, 'removed');
    return doomed.length;
  }

  settings({ queues }: QueuesParams): QueueSettings[] {
    return queues.map((name) => this.#queue(name).row.settings);
  }

  configure({ now, queue, changes }: ConfigureParams): QueueSettings {
    const q = this.#settled(queue, now);
    const resumed = q.row.settings.paused && changes.paused === false;
    this.#set(q, { settings: Object.freeze({ ...q.row.settings, ...changes }), known: true });
    // A shorter retention applies now, not at the next ack.
    this.#prune(q, now);
    if (resumed) this.#emit({ kind: 'ready', queue });
    return q.row.settings;
  }

  queues(): string[] {
    return this.rows.queueNames();
  }

  getMeta({ names }: GetMetaParams): (string | null)[] {
    return names.map((name) => this.rows.getMeta(name));
  }

  setMeta({ entries }: SetMetaParams): void {
    for (const [name, value] of Object.entries(entries)) this.rows.setMeta(name, value);
    const key = entries[tokenKeyName];
    if (key !== undefined && key !== null) this.#sealer = new TokenSealer(key);
  }

  listMeta({ prefix }: ListMetaParams): string[] {
    return this.rows.listMeta(prefix).filter((name) => name !== tokenKeyName);
  }

  #queue(name: string): Queue {
    let q = this.#queues.get(name);
    if (q === undefined) {
      const stored = this.rows.queue(name);
      q = { row: stored ?? newQueueRow(name), dirty: stored === null, settledAt: null };
      this.#queues.set(name, q);
    }
    return q;
  }

  #set(q: Queue, change: Partial<QueueRow>): void {
    Object.assign(this.#own(q), change);
  }

  /**
   * The call's own copy of the queue's row, made at its first change: a copy at every change
   * (with the leased record's spread) was a fifth of the instructions of e2e c=64 on SQLite.
   */
  #own(q: Queue): WritableQueueRow {
    if (!q.dirty) {
      q.row = { ...q.row };
      q.dirty = true;
    }
    return q.row;
  }

  /** The queue with what `now` makes due applied: TTLs, delays, expired leases, retention. */
  #settled(name: string, now: number): Queue {
    const q = this.#queue(name);
    if (q.settledAt === now) return q;
    q.settledAt = now;
    this.#prune(q, now);
    // `dueAt` spares the reads of due delays, ended leases and TTLs at every call: most find none.
    if (now < q.row.dueAt) return q;
    for (const row of this.rows.expired(name, now)) {
      this.#set(q, { expired: q.row.expired + 1 });
      this.#drop(q, row, 'expired');
    }
    for (const row of this.rows.delayedDue(name, now)) this.#move(q, row, { state: 'waiting' });
    for (const row of this.rows.leasesEnded(name, now)) {
      // Reclaim (contract.ts): back in line as of the lease's end, no back-off; the attempt counts.
      const until = row.until as number;
      this.#fail(q, row, now, until - now, 'lease expired', false, row);
    }
    this.#prune(q, now);
    const { next, expiry } = { next: this.rows.nextAt(name), expiry: this.rows.nextExpiry(name) };
    this.#set(q, { dueAt: Math.min(next ?? Infinity, expiry ?? Infinity) });
    return q;
  }

  /** Lowers the queue's `dueAt` to what `row` makes due by itself: its delay, lease end or TTL. */
  #due(q: Queue, row: Row): void {
    const at = Math.min(
      row.state === 'delayed' ? row.availableAt : Infinity,
      row.state === 'active' ? (row.until as number) : Infinity,
      row.expiresAt ?? Infinity,
    );
    if (at < q.row.dueAt) this.#set(q, { dueAt: at });
  }

  /** Drops the oldest completed jobs past the queue's retention, and the dead past `keepDead`, silently. */
  #prune(q: Queue, now: number): void {
    this.#pruneDead(q, now);
    const { count, ageMs } = q.row.settings.keepCompleted;
    this.#dropOldest(q, 'completed', q.row.completed - count);
    // `pruneAt` spares a read of the oldest job at every call: most find nothing to prune.
    while (q.row.completed > 0 && q.row.pruneAt <= now - ageMs) {
      const oldest = this.rows.inState(q.row.name, 'completed', 1, 0)[0];
      if (oldest === undefined) break;
      if ((oldest.until as number) > now - ageMs) {
        this.#set(q, { pruneAt: oldest.until as number });
        break;
      }
      this.#drop(q, oldest, null);
    }
  }

  /**
   * Drops the dead jobs past `keepDead`, the oldest death first, silently. No time is kept for
   * them as `pruneAt` is for completed jobs: with an age limit (none by default) each settle
   * reads the oldest dead job, one indexed read.
   */
  #pruneDead(q: Queue, now: number): void {
    const { count, ageMs } = q.row.settings.keepDead;
    this.#dropOldest(q, 'dead', q.row.dead - count);
    if (ageMs === Infinity) return;
    while (q.row.dead > 0) {
      const oldest = this.rows.inState(q.row.name, 'dead', 1, 0)[0];
      if (oldest === undefined || (oldest.until as number) > now - ageMs) break;
      this.#drop(q, oldest, null);
    }
  }

  /** Drops the `n` jobs of `state` that finished first, silently, as retention does. */
  #dropOldest(q: Queue, state: 'dead' | 'completed', n: number): void {
    if (n <= 0) return;
    this.#writes++;
    this.rows.deleteOldest(q.row.name, state, n);
    this.#count(q, state, null, n);
  }

  #finish(q: Queue): number {
    this.#set(q, { finishes: q.row.finishes + 1 });
    return q.row.finishes;
  }

  /**
   * A failed attempt (`row` with the failure's own changes, `before` as stored): back in line
   * after `delayMs`, or dead. Returns the state it went to.
   */
  #fail(
    q: Queue,
    row: Row,
    now: number,
    delayMs: number,
    error: string | null,
    goDead: boolean,
    before: Row,
  ): JobState {
    const errors = error === null ? row.errors : [...row.errors, error].slice(-errorHistory);
    const failed: Row = { ...row, errors, until: null };
    if (goDead || failed.attempts >= failed.maxAttempts) {
      this.#write(q, { ...failed, state: 'dead', until: now, finish: this.#finish(q) }, before);
      this.#emit({ kind: 'ended', queue: row.queue, id: String(row.seq), end: 'dead' });
      this.#pruneDead(q, now);
      return 'dead';
    }
    const state = now + delayMs > now ? 'delayed' : 'waiting';
    this.#write(q, { ...failed, availableAt: now + delayMs, state }, before);
    if (state === 'delayed') this.#announce(q, now + delayMs);
    return state;
  }

  #requeue(q: Queue, row: Row, now: number, availableAt: number, change: Partial<Row>): void {
    const state = availableAt > now ? 'delayed' : 'waiting';
    this.#move(q, row, { ...change, availableAt, state });
    if (state === 'delayed') this.#announce(q, availableAt);
  }

  /** Writes `row` with `change`, keeping the queue's counts; returns the new row. */
  #move(q: Queue, row: Row, change: Partial<Row>): Row {
    const next = { ...row, ...change };
    this.#write(q, next, row);
    return next;
  }

  #write(q: Queue, next: Row, before: Row): void {
    this.#writes++;
    this.rows.update(next, before);
    this.#due(q, next);
    if (next.state !== before.state) this.#count(q, before.state, next.state);
  }

  #count(q: Queue, from: JobState | null, to: JobState | null, n = 1): void {
    const row = this.#own(q);
    if (from !== null) row[from] -= n;
    if (to !== null) row[to] += n;
  }

  /** Takes the job out of the store; tells watchers unless `end` is null (retention pruning). */
  #drop(q: Queue, row: Row, end: JobEnd | null, result?: Uint8Array | null): void {
    this.#writes++;
    this.rows.delete(row);
    this.#count(q, row.state, null);
    if (end !== null)
      this.#emit({
        kind: 'ended',
        queue: row.queue,
        id: String(row.seq),
        end,
        ...(result !== undefined && { result }),
      });
  }

  /** A lease found nothing here at `now` and sleeps until `nextAt` at most. */
  #told(q: Queue, now: number, nextAt: number | null): void {
    const at = nextAt ?? Infinity;
    // Once past, the leases it covered have woken and ask again, each telling its own time.
    const wakeBy = q.row.wakeBy <= now ? at : Math.max(q.row.wakeBy, at);
    if (wakeBy !== q.row.wakeBy) this.#set(q, { wakeBy });
  }

  #announce(q: Queue, at: number): void {
    if (at >= q.row.wakeBy) return;
    this.#set(q, { wakeBy: at });
    this.#emit({ kind: 'due', queue: q.row.name, at });
  }

  #emit(event: ChangeEvent): void {
    this.#events.push(event);
  }

  /** The row of a job id, or null. */
  #job(id: string): Row | null {
    const seq = seqOf(id);
    return seq === null ? null : this.rows.job(seq);
  }

  /** The job's row once its queue is settled at `now`, or null when it is not (or no longer) there. */
  #current(id: string, now: number): Row | null {
    const row = this.#job(id);
    if (row === null) return null;
    const writes = this.#writes;
    this.#settled(row.queue, now);
    return writes === this.#writes ? row : this.rows.job(row.seq);
  }

  /** The job behind a token whose lease is still current at `now`, or null. */
  #leased(token: string, now: number): Row | null {
    const parsed = parseToken(token);
    if (parsed === null || parsed.seal === null) return null;
    const row = this.#current(parsed.id, now);
    if (row === null || row.state !== 'active' || row.attempts !== parsed.attempt || (row.until as number) <= now)
      return null;
    return this.#sealer.matches(row.seq, row.attempts, parsed.seal) ? row : null;
  }

  #seal(row: Row): string {
    return this.#sealer.seal(row.seq, row.attempts);
  }

  #leasedRecord(row: Row): LeasedRecord {
    // The token added to the record made for it, not spread into a copy of it.
    const record: JobRecord & { token?: string } = this.#record(row);
    record.token = formatToken(String(row.seq), row.attempts, this.#seal(row));
    return record as LeasedRecord;
  }

  #record(row: Row): JobRecord {
    const done = row.state === 'dead' || row.state === 'completed';
    return {
      id: String(row.seq),
      queue: row.queue,
      state: row.state,
      payload: this.rows.payload(row.seq),
      priority: row.priority,
      attempts: row.attempts,
      maxAttempts: row.maxAttempts,
      nacks: row.nacks,
      createdAt: row.createdAt,
      availableAt: row.availableAt,
      expiresAt: row.expiresAt,
      leaseUntil: row.state === 'active' ? row.until : null,
      visibilityMs: row.visibilityMs,
      backoff: row.backoff,
      key: row.key,
      errors: [...row.errors],
      result: row.state === 'completed' ? row.result : null,
      finishedAt: done ? row.until : null,
    };
  }
}
