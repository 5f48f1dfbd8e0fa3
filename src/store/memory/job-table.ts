import { StorageError } from '../../errors.ts';
import { formatToken, inScope, parseToken } from '../contract.ts';
import type { QueueScope, TokenParts } from '../contract.ts';
import { Listeners } from '../listeners.ts';
import type {
  AckParams,
  AckResult,
  AddParams,
  AddResult,
  Backoff,
  Counts,
  ExtendParams,
  ExtendResult,
  HoldParams,
  JobRecord,
  JobState,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  ListParams,
  ListResult,
  NackParams,
  NewJob,
  NackResult,
  QueueSettings,
  RemoveParams,
  Retention,
  StoreEvent,
} from '../contract.ts';
import { Columns, columnNames, gone, maxSeq, Page, rowOf, stateCode, stateName } from './columns.ts';
import type { ColumnImage } from './column.ts';
import type { ColumnName, Profile } from './columns.ts';
import { QueueState } from './queue-state.ts';
import { decodeSettings, encodeSettings, settingsDoc, settingsPrefix } from './settings-doc.ts';
import { TokenSealer, tokenKeyName } from './token-seal.ts';

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
  /** Sequence numbers of its completed jobs, oldest first, and of its dead ones, in the order they died. */
  readonly completed: readonly number[];
  readonly dead: readonly number[];
}

/**
 * Everything a table holds, for a checkpoint: its column pages as bytes, and the rest. An image
 * from `image()` shares the table's memory: encode it before the next call changes the table.
 */
export interface TableImage {
  readonly nextSeq: number;
  /** In the order the columns number them. */
  readonly queues: readonly QueueImage[];
  /** In the order the columns number them. */
  readonly profiles: readonly Profile[];
  readonly pages: readonly { readonly number: number; readonly columns: Readonly<Record<ColumnName, ColumnImage>> }[];
  readonly keys: readonly (readonly [number, string])[];
  readonly errors: readonly (readonly [number, readonly string[]])[];
  readonly results: readonly (readonly [number, Uint8Array])[];
  readonly payloads: readonly (readonly [number, Uint8Array])[];
  readonly meta: readonly (readonly [string, string])[];
}

/**
 * The embedded stores' job table: the whole Store contract as synchronous calls on one
 * process's memory, jobs in typed-array columns (see columns.ts). The memory store wraps it in
 * promises; the file store logs each call, so the table must stay a pure function of the calls
 * it gets (`now` included).
 */
export class JobTable {
  readonly #cols = new Columns();
  readonly #queues = new Map<string, QueueState>();
  readonly #byIndex: QueueState[] = [];
  readonly #listeners = new Listeners();
  readonly #meta = new Map<string, string>();
  /** Queues that had an add or a configure (`queues`); after a restore, those with jobs or settings. */
  readonly #known = new Set<string>();
  /**
   * Seals lease tokens with the table's key (token-seal.ts); null in a file store's log from
   * before the key. An ack, nack or extend seals again and compares: nothing is kept per lease.
   */
  #sealer: TokenSealer | null = null;
  #seq = 0;
  #size = 0;

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
    return this.#size;
  }

  /**
   * Adds a batch, whole or not at all. `locate(i)`, when given, is where the log keeps the
   * payload of `jobs[i]`: the table then holds its position, not its bytes.
   */
  add({ now, jobs }: AddParams, locate?: (index: number) => number): AddResult {
    // Check the whole batch before changing anything: a batch is added whole or not at all. A
    // batch's jobs mostly share a queue: settling it again at the same `now` would change nothing.
    // New jobs by queue, counted by runs of jobs of one queue.
    const fresh = new Map<QueueState, number>();
    const count = (q: QueueState | null, run: number): void => {
      if (q !== null && run > 0) fresh.set(q, (fresh.get(q) ?? 0) + run);
    };
    const byKey = new Set<string>();
    let settled: QueueState | null = null;
    let run = 0;
    for (const job of jobs) {
      if (settled?.name !== job.queue) {
        count(settled, run);
        run = 0;
        settled = this.#queue(job.queue);
        settled.settle(now);
      }
      if (job.key !== null) {
        if (settled.keys.has(job.key) || byKey.has(`${job.queue}\0${job.key}`)) continue;
        byKey.add(`${job.queue}\0${job.key}`);
      }
      run++;
    }
    count(settled, run);
    for (const [q, n] of fresh) {
      const limit = q.settings.maxLength;
      if (limit !== null && q.queued + n > limit) return { ok: false, fullQueue: q.name, maxLength: limit };
      this.#know(q.name, q);
    }
    if (this.#seq + jobs.length > maxSeq) throw new StorageError('this store has handed out every job id it can');
    const n = jobs.length;
    const ids = new Array<string>(n);
    const created = new Array<boolean>(n);
    const cols = this.#cols;
    // An indexed loop over the batch with its queue looked up once per run of jobs that share
    // one: a bulk add spends ~1 µs a job in all, and a closure or a map lookup a job showed (issue 16).
    let q: QueueState | null = null;
    let readied: QueueState | null = null;
    let ready: Set<QueueState> | null = null;
    for (let index = 0; index < n; index++) {
      const spec = jobs[index] as NewJob;
      if (q?.name !== spec.queue) q = this.#queue(spec.queue);
      const existing = spec.key === null ? undefined : q.keys.get(spec.key);
      if (existing !== undefined) {
        ids[index] = String(existing);
        created[index] = false;
        continue;
      }
      const seq = ++this.#seq;
      const at = locate === undefined ? -1 : locate(index);
      const page = cols.create(seq);
      const row = rowOf(seq);
      page.queue.set(row, q.index);
      page.state.set(row, gone);
      page.priority.set(row, spec.priority);
      page.attempts.set(row, 0);
      page.nacks.set(row, 0);
      page.profile.set(row, cols.profileId(spec));
      page.createdAt.set(row, now);
      page.availableAt.set(row, spec.availableAt);
      page.expiresAt.set(row, spec.expiresAt ?? Number.NaN);
      page.until.set(row, Number.NaN);
      page.at.set(row, at);
      page.size.set(row, spec.payload.byteLength);
      if (at < 0) cols.setPayload(seq, spec.payload);
      if (spec.key !== null) cols.keys.set(seq, spec.key);
      this.#size++;
      if (q.admit(seq, now, spec.key) === 'waiting' && q !== readied) {
        (ready ??= new Set()).add(q);
        readied = q;
      }
      ids[index] = String(seq);
      created[index] = true;
    }
    if (ready !== null) for (const r of ready) this.#emit({ kind: 'ready', queue: r.name });
    return { ok: true, ids, created };
  }

  lease({ now, queues, max, visibilityMs }: LeaseParams): LeaseResult {
    const leased: LeasedRecord[] = [];
    let nextAt: number | null = null;
    for (const name of queues) {
      const q = this.#queue(name);
      q.settle(now);
      if (q.settings.paused) continue;
      while (leased.length < max) {
        const seq = q.waiting.take();
        if (seq < 0) break;
        q.lease(seq, now, visibilityMs ?? this.#cols.profile(seq).visibilityMs);
        leased.push(
          this.#record(seq, this.#tokenOf(seq, this.#cols.page(seq).attempts.get(rowOf(seq)))) as LeasedRecord,
        );
      }
      const next = q.nextAt();
      if (leased.length === 0) q.told(now, next);
      if (next !== null && (nextAt === null || next < nextAt)) nextAt = next;
    }
    return { jobs: leased, nextAt };
  }

  ack({ now, items, scope }: AckParams): readonly AckResult[] {
    return items.map(({ token, result }): AckResult => {
      // Before anything is applied to the job's queue: a token outside the scope changes nothing.
      if (scope !== undefined && !this.inScope(token, scope)) return null;
      const seq = this.#leased(token, now);
      if (seq < 0) return null;
      const q = this.#queueOf(seq);
      q.complete(seq, now, result);
      return q.name;
    });
  }

  /** Whether the job `token` names is in a queue of `scope`, changing nothing; false when there is no such job. */
  inScope(token: string, scope: QueueScope): boolean {
    const parsed = parseToken(token);
    const seq = parsed === null ? -1 : this.#seqOf(parsed.id);
    return seq >= 0 && inScope(scope, this.#queueOf(seq).name);
  }

  nack({ now, token, delayMs, error, kind }: NackParams): NackResult {
    const seq = this.#leased(token, now);
    if (seq < 0) return { outcome: 'lost' };
    const q = this.#queueOf(seq);
    const page = this.#cols.page(seq);
    const row = rowOf(seq);
    if (kind === 'release' || (kind === 'requeue' && page.attempts.get(row) < this.#cols.profile(seq).maxAttempts)) {
      // Back to its old place in line, or due after a release's delay; a release as if the job
      // had never been leased, a requeue with its attempt counted.
      if (kind === 'release') page.attempts.set(row, page.attempts.get(row) - 1);
      page.until.set(row, Number.NaN);
      if (kind === 'release' && delayMs > 0) {
        q.requeue(seq, now, now + delayMs);
        return { outcome: 'retry' };
      }
      q.place(seq, 'waiting');
      this.#emit({ kind: 'ready', queue: q.name });
      return { outcome: 'retry' };
    }
    // A requeue on the last attempt goes dead as a reclaim does: its error kept, no nack counted.
    if (kind !== 'requeue' && page.nacks.get(row) < 0xffff) page.nacks.set(row, page.nacks.get(row) + 1);
    const outcome = q.fail(seq, now, delayMs, error, kind === 'dead');
    if (this.#cols.state(seq) === stateCode.waiting) this.#emit({ kind: 'ready', queue: q.name });
    return { outcome };
  }

  extend({ now, token, ms }: ExtendParams): ExtendResult {
    const seq = this.#leased(token, now);
    if (seq < 0) return { outcome: 'lost' };
    this.#queueOf(seq).extend(seq, now + ms);
    return { outcome: 'ok', leaseUntil: now + ms };
  }

  leases(tokens: readonly string[], now: number): readonly (LeasedRecord | null)[] {
    return tokens.map((token) => {
      const seq = this.#leased(token, now);
      return seq < 0 ? null : (this.#record(seq, token) as LeasedRecord);
    });
  }

  leasesOf(ids: readonly string[], now: number): readonly (LeasedRecord | null)[] {
    return ids.map((id) => {
      const seq = this.#seqOf(id);
      if (seq < 0) return null;
      const token = this.#tokenOf(seq, this.#cols.page(seq).attempts.get(rowOf(seq)));
      return this.leases([token], now)[0] ?? null;
    });
  }

  get(ids: readonly string[], now: number): readonly (JobRecord | null)[] {
    return ids.map((id) => {
      const seq = this.#seqOf(id);
      if (seq < 0) return null;
      this.#queueOf(seq).settle(now);
      return this.#cols.state(seq) === gone ? null : this.#record(seq);
    });
  }

  peek(queue: string, limit: number, now: number): readonly JobRecord[] {
    const q = this.#queue(queue);
    q.settle(now);
    return q.inState('waiting', limit).map((seq) => this.#record(seq));
  }

  list({ now, queue, state, cursor, limit }: ListParams): ListResult {
    const q = this.#queue(queue);
    q.settle(now);
    const from = cursor === null ? 0 : Number(cursor);
    // This page and one more job, to tell whether there is a next page (issue 18: every page
    // listed all of a million waiting jobs first, ~200 ms of a blocked process a page).
    const seqs = q.inState(state, limit + 1, from);
    const page = seqs.slice(0, limit).map((seq) => this.#record(seq));
    return { jobs: page, cursor: seqs.length > limit ? String(from + limit) : null };
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
      const seq = this.#seqOf(id);
      if (seq < 0) continue;
      const q = this.#queueOf(seq);
      q.settle(now);
      const state = this.#cols.state(seq);
      if (state === gone || (states !== null && !states.includes(stateName[state] as JobState))) continue;
      q.drop(seq, 'removed');
      removed.push(id);
    }
    return removed;
  }

  hold({ now, ids }: HoldParams): readonly string[] {
    const held: string[] = [];
    const byQueue = new Map<QueueState, Set<number>>();
    for (const id of ids) {
      const seq = this.#seqOf(id);
      if (seq < 0) continue;
      const q = this.#queueOf(seq);
      q.settle(now);
      if (this.#cols.state(seq) !== stateCode.waiting) continue;
      const seqs = byQueue.get(q) ?? new Set<number>();
      if (seqs.has(seq)) continue;
      byQueue.set(q, seqs.add(seq));
      held.push(id);
    }
    for (const [q, seqs] of byQueue) q.hold(seqs, now);
    return held;
  }

  retryDead(queue: string, ids: readonly string[] | null, now: number): number {
    const q = this.#queue(queue);
    q.settle(now);
    const seqs = ids === null ? [...q.dead] : ids.map((id) => this.#seqOf(id)).filter((seq) => seq >= 0);
    let n = 0;
    for (const seq of seqs) {
      if (this.#cols.state(seq) !== stateCode.dead || this.#queueOf(seq) !== q) continue;
      const page = this.#cols.page(seq);
      page.attempts.set(rowOf(seq), 0);
      page.until.set(rowOf(seq), Number.NaN);
      q.requeue(seq, now, now);
      n++;
    }
    if (n > 0) this.#emit({ kind: 'ready', queue });
    return n;
  }

  promote(queue: string, ids: readonly string[] | null, now: number): number {
    const q = this.#queue(queue);
    q.settle(now);
    const seqs = ids === null ? q.inState('delayed') : ids.map((id) => this.#seqOf(id)).filter((seq) => seq >= 0);
    let n = 0;
    for (const seq of seqs) {
      if (this.#cols.state(seq) !== stateCode.delayed || this.#queueOf(seq) !== q) continue;
      // Its heap entry goes stale with the new due time and is dropped lazily (queue-state.ts).
      q.requeue(seq, now, now);
      n++;
    }
    if (n > 0) this.#emit({ kind: 'ready', queue });
    return n;
  }

  purge(queue: string, now: number): number {
    const q = this.#queue(queue);
    q.settle(now);
    const doomed = (['waiting', 'delayed', 'dead', 'completed'] as const).flatMap((s) => q.inState(s));
    for (const seq of doomed) q.drop(seq, 'removed');
    return doomed.length;
  }

  settings(queues: readonly string[]): readonly QueueSettings[] {
    return queues.map((name) => this.#queue(name).settings);
  }

  /** Merges `changes` into the queue's settings, kept as a meta document so a checkpoint carries them. */
  configure(queue: string, changes: Partial<QueueSettings>, now: number): QueueSettings {
    const q = this.#queue(queue);
    q.settle(now);
    const resumed = q.settings.paused && changes.paused === false;
    q.settings = Object.freeze({ ...q.settings, ...changes });
    this.#meta.set(settingsDoc(queue), encodeSettings(q.settings));
    this.#known.add(queue);
    // A shorter retention applies now, not at the next ack.
    q.settle(now);
    if (resumed) this.#emit({ kind: 'ready', queue });
    return q.settings;
  }

  queues(): readonly string[] {
    return [...this.#known].sort();
  }

  getMeta(names: readonly string[]): readonly (string | null)[] {
    return names.map((name) => this.#meta.get(name) ?? null);
  }

  setMeta(entries: Readonly<Record<string, string | null>>): void {
    for (const [name, value] of Object.entries(entries)) {
      if (value === null) this.#meta.delete(name);
      else this.#meta.set(name, value);
    }
    if (tokenKeyName in entries) this.#useTokenKey();
  }

  listMeta(prefix: string): readonly string[] {
    return [...this.#meta.keys()]
      .filter((name) => name.startsWith(prefix) && name !== tokenKeyName && !name.startsWith(settingsPrefix))
      .sort();
  }

  /** Points a job at a new copy of its payload (compaction moved it); its size, or -1 when it is gone. */
  relocate(id: string, at: number): number {
    const seq = this.#seqOf(id);
    if (seq < 0) return -1;
    const page = this.#cols.page(seq);
    const row = rowOf(seq);
    if (page.at.get(row) < 0) return -1;
    this.home?.release(page.at.get(row), page.size.get(row));
    page.at.set(row, at);
    return page.size.get(row);
  }

  /** Ids of the jobs whose payload the log keeps at a position `where` accepts. */
  jobsWhere(where: (at: number) => boolean): string[] {
    const found: string[] = [];
    this.#cols.forEach((seq, page, row) => {
      const at = page.at.get(row);
      if (at >= 0 && where(at)) found.push(String(seq));
    });
    return found;
  }

  /** Calls `visit` with where the log keeps each job's payload. */
  payloadSpans(visit: (at: number, size: number) => void): void {
    this.#cols.forEach((_seq, page, row) => {
      const at = page.at.get(row);
      if (at >= 0) visit(at, page.size.get(row));
    });
  }

  /** A job's payload, wherever it is kept; null when the job is gone. */
  payloadOf(id: string): Uint8Array | null {
    const seq = this.#seqOf(id);
    return seq < 0 ? null : this.#payload(seq);
  }

  watch(listener: (event: StoreEvent) => void): () => Promise<void> {
    return this.#listeners.add(listener);
  }

  /** The whole state, for a checkpoint. */
  image(): TableImage {
    const cols = this.#cols;
    return {
      nextSeq: this.nextSeq,
      queues: this.#byIndex.map((q) => ({
        name: q.name,
        paused: q.settings.paused,
        expired: q.expired,
        retention: q.settings.keepCompleted,
        completed: q.inState('completed'),
        dead: q.inState('dead'),
      })),
      profiles: cols.profiles,
      pages: cols.pages().map(({ number, page }) => ({
        number,
        columns: Object.fromEntries(columnNames.map((name) => [name, page[name].image()])) as Record<
          ColumnName,
          ColumnImage
        >,
      })),
      keys: [...cols.keys],
      errors: [...cols.errors],
      results: [...cols.results],
      payloads: cols.payloads(),
      meta: [...this.#meta],
    };
  }

  /** Loads a checkpoint's image into this empty table. */
  restore(image: TableImage): void {
    const cols = this.#cols;
    this.#seq = image.nextSeq - 1;
    for (const { name, paused, expired, retention } of image.queues) {
      const q = this.#queue(name);
      // A checkpoint from before stored settings has these two alone; the settings documents below win.
      q.settings = Object.freeze({ ...q.settings, paused, keepCompleted: retention });
      q.expired = expired;
    }
    for (const profile of image.profiles) cols.profileId(profile);
    for (const { number, columns } of image.pages) {
      const page = new Page(columns);
      cols.loadPage(number, page);
      this.#size += page.live;
    }
    for (const [seq, key] of image.keys) cols.keys.set(seq, key);
    for (const [seq, errors] of image.errors) cols.errors.set(seq, [...errors]);
    for (const [seq, result] of image.results) cols.results.set(seq, result);
    for (const [seq, payload] of image.payloads) cols.setPayload(seq, payload);
    // Completed and dead jobs first, in their lists' order; then the rest by sequence number.
    image.queues.forEach((q, index) => {
      const state = this.#byIndex[index] as QueueState;
      for (const seq of q.completed) state.restore(seq, 'completed');
      for (const seq of q.dead) state.restore(seq, 'dead');
    });
    cols.forEach((seq, page, row) => {
      const code = page.state.get(row);
      if (code !== stateCode.completed && code !== stateCode.dead)
        this.#queueOf(seq).restore(seq, stateName[code] as JobState);
    });
    for (const [name, value] of image.meta) {
      this.#meta.set(name, value);
      if (!name.startsWith(settingsPrefix)) continue;
      const queue = name.slice(settingsPrefix.length);
      this.#queue(queue).settings = decodeSettings(value);
      this.#known.add(queue);
    }
    for (const q of this.#byIndex) {
      const c = q.counts();
      if (c.waiting + c.delayed + c.active + c.dead + c.completed > 0) this.#known.add(q.name);
    }
    this.#useTokenKey();
  }

  #payload(seq: number): Uint8Array {
    const page = this.#cols.page(seq);
    const at = page.at.get(rowOf(seq));
    if (at < 0) return this.#cols.payload(seq) as Uint8Array;
    return (this.home as PayloadHome).read(at, page.size.get(rowOf(seq)));
  }

  /** Job `seq` as a record; with `token`, a leased one. */
  #record(seq: number, token?: string): JobRecord {
    return new ColumnRecord(this.#cols, seq, this.#queueOf(seq).name, this.#payload(seq), token);
  }

  /** The token of job `seq`'s lease at `attempt`. */
  #tokenOf(seq: number, attempt: number): string {
    return formatToken(String(seq), attempt, this.#sealer?.seal(seq, attempt) ?? null);
  }

  #useTokenKey(): void {
    const key = this.#meta.get(tokenKeyName);
    this.#sealer = key === undefined ? null : new TokenSealer(key);
  }

  /** The job behind a token whose lease is still current at `now`, or -1. */
  #leased(token: string, now: number): number {
    const parsed = parseToken(token);
    if (parsed === null) return -1;
    const seq = this.#seqOf(parsed.id);
    if (seq < 0) return -1;
    this.#queueOf(seq).settle(now);
    if (this.#cols.state(seq) !== stateCode.active) return -1;
    const page = this.#cols.page(seq);
    const current = page.attempts.get(rowOf(seq)) === parsed.attempt && page.until.get(rowOf(seq)) > now;
    return current && this.#sealed(seq, parsed) ? seq : -1;
  }

  /** Whether `token` is the one the store made for the current lease of active job `seq`. */
  #sealed(seq: number, { attempt, seal }: TokenParts): boolean {
    if (this.#sealer === null) return seal === null;
    return seal !== null && this.#sealer.matches(seq, attempt, seal);
  }

  /** The sequence number of a job in the table, or -1. */
  #seqOf(id: string): number {
    // Digits only, no leading zero: one spelling per job. Checked in place, as String(seq) === id
    // would make a string on every ack.
    if (id.length === 0 || id.length > 16 || id.charCodeAt(0) === 48) return -1;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c < 48 || c > 57) return -1;
    }
    const seq = Number(id);
    if (seq > this.#seq) return -1;
    return this.#cols.state(seq) === gone ? -1 : seq;
  }

  /**
   * Lists the queue from now on. Its settings document is written too, so a checkpoint carries
   * the queue even once it is empty: the list is the same after a reopen.
   */
  #know(queue: string, q: QueueState): void {
    if (this.#known.has(queue)) return;
    this.#known.add(queue);
    this.#meta.set(settingsDoc(queue), encodeSettings(q.settings));
  }

  #queueOf(seq: number): QueueState {
    return this.#byIndex[this.#cols.page(seq).queue.get(rowOf(seq))] as QueueState;
  }

  #queue(name: string): QueueState {
    let q = this.#queues.get(name);
    if (q === undefined) {
      // The one place that forgets a job: every way out of the store passes through here.
      q = new QueueState(
        name,
        this.#byIndex.length,
        this.#cols,
        (seq, end, result) => {
          if (this.#cols.state(seq) === gone) {
            const page = this.#cols.page(seq);
            const at = page.at.get(rowOf(seq));
            if (at >= 0) this.home?.release(at, page.size.get(rowOf(seq)));
            this.#cols.free(seq);
            this.#size--;
          }
          if (end !== null && this.#listeners.size > 0) {
            // Two literals, not a spread of the result: this runs once for every job.
            const id = String(seq);
            this.#emit(
              result === undefined
                ? { kind: 'ended', queue: name, id, end }
                : { kind: 'ended', queue: name, id, end, result },
            );
          }
        },
        (at) => this.#emit({ kind: 'due', queue: name, at }),
      );
      this.#queues.set(name, q);
      this.#byIndex.push(q);
    }
    return q;
  }

  #emit(event: StoreEvent): void {
    this.#listeners.emit(event);
  }
}

/** An active job's record made its lease's, in place: a copy with the token added cost a lease more. */
/** The errors of a job that has none: one frozen list for all of them. */
const noErrors: readonly string[] = Object.freeze([]);

/**
 * A job's record as its columns hold it now. A class, not an object literal: a lease makes one a
 * job, and the literal (an allocation site V8 tracks) at times cost a seventh of the RESP
 * server's time in GETJOB + ACKJOB, where `new` of a class never did (issue 17). The token is
 * there only on a leased record, set last, so every lease's record has one shape.
 */
class ColumnRecord implements JobRecord {
  readonly id: string;
  readonly queue: string;
  readonly state: JobState;
  readonly payload: Uint8Array;
  readonly priority: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly nacks: number;
  readonly createdAt: number;
  readonly availableAt: number;
  readonly expiresAt: number | null;
  readonly leaseUntil: number | null;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
  readonly key: string | null;
  readonly errors: readonly string[];
  readonly result: Uint8Array | null;
  readonly finishedAt: number | null;
  declare readonly token?: string;

  constructor(cols: Columns, seq: number, queue: string, payload: Uint8Array, token: string | undefined) {
    const page = cols.page(seq);
    const row = rowOf(seq);
    const profile = cols.profile(seq);
    const state = stateName[page.state.get(row)] as JobState;
    const until = nullable(page.until.get(row));
    const errors = cols.errors.get(seq);
    this.id = String(seq);
    this.queue = queue;
    this.state = state;
    this.payload = payload;
    this.priority = page.priority.get(row);
    this.attempts = page.attempts.get(row);
    this.maxAttempts = profile.maxAttempts;
    this.nacks = page.nacks.get(row);
    this.createdAt = page.createdAt.get(row);
    this.availableAt = page.availableAt.get(row);
    this.expiresAt = nullable(page.expiresAt.get(row));
    this.leaseUntil = state === 'active' ? until : null;
    this.visibilityMs = profile.visibilityMs;
    this.backoff = profile.backoff;
    this.key = cols.keys.get(seq) ?? null;
    // A copy: the table's own list grows with later attempts. Most jobs have none to copy.
    this.errors = errors === undefined ? noErrors : [...errors];
    this.result = cols.results.get(seq) ?? null;
    this.finishedAt = state === 'dead' || state === 'completed' ? until : null;
    if (token !== undefined) (this as { token?: string }).token = token;
  }
}

function nullable(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
