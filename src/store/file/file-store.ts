// The embedded file store: a write-ahead log of the job table's calls, in segment files.
//
// Every call that changes state is applied to the job table, framed into the log, and (adds,
// acks, nacks and the rest) answered once its record is durable. The table is a pure function
// of the calls it gets, `now` included, so replaying the log rebuilds it exactly. Payloads stay
// in the log: the table keeps their positions and reads them back on demand. Checkpoints of
// the table bound what an open replays. The duties are split: records.ts holds each record's
// layout, recovery.ts what an open does with the segments it finds, compactor.ts the
// checkpoints, the deletion of segments no longer needed and compaction.
import { ClosedError, CorruptionError, LockedError, StorageError, ValidationError } from '../../errors.ts';
import { refuseTx } from '../contract.ts';
import { openFailed } from '../local-path.ts';
import type {
  AckParams,
  AckResult,
  AddParams,
  AddResult,
  Capabilities,
  ConfigureParams,
  Counts,
  ExtendParams,
  ExtendResult,
  GetMetaParams,
  HoldParams,
  Health,
  IdsParams,
  JobRecord,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  ListMetaParams,
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  NewJob,
  NowParams,
  PeekParams,
  PromoteParams,
  PurgeParams,
  QueueSettings,
  QueuesParams,
  RemoveParams,
  RetryDeadParams,
  SetMetaParams,
  Store,
  StoreEvent,
  TokensParams,
} from '../contract.ts';
import { JobTable } from '../memory/job-table.ts';
import { newTokenKey, tokenKeyName } from '../memory/token-seal.ts';
import { ByteWriter } from './bytes.ts';
import { loadCheckpoint } from './checkpoint.ts';
import { Compactor } from './compactor.ts';
import { nodeIO } from './io.ts';
import type { FileIO } from './io.ts';
import { acquireLock } from './lock.ts';
import type { Durability, Log } from './log.ts';
import {
  decodeAdd,
  decodeMove,
  decodeOperation,
  encodeOperation,
  layoutAdd,
  recordKinds,
  writeAdd,
} from './records.ts';
import type { AckRecord, Operation } from './records.ts';
import { missingSegments, openLog } from './recovery.ts';
import type { Damage, Replayed } from './recovery.ts';

export type { Durability } from './log.ts';

export interface FileStoreOptions {
  /**
   * fsync (default): an answered call survives power loss. interval: the log syncs every
   * `intervalMs`, so a power cut loses at most that much; none: it survives a process crash.
   */
  durability?: Durability;
  intervalMs?: number;
  /** Size at which the log starts a new segment; default 64 MiB. */
  segmentBytes?: number;
  /** Skip damaged records (keeping every intact one) instead of refusing to open. */
  repair?: boolean;
  /** The file layer; tests pass one that simulates power loss. */
  io?: FileIO;
}

/** What an open found and did, for `spool check`. */
export interface OpenReport {
  readonly damage: readonly Damage[];
  /** Checkpoints that failed their checksum and were passed over. */
  readonly badCheckpoints: readonly string[];
  readonly jobs: number;
}

const empty = new Uint8Array(0);

export class FileStore implements Store {
  readonly capabilities: Capabilities;
  readonly #table: JobTable;
  readonly #compactor: Compactor;
  readonly #writer = new ByteWriter(1 << 16);
  #log!: Log;
  #replaying = true;
  #closed = false;
  #report!: OpenReport;
  /** A lease runs: a payload that fails its checksum is noted in #damaged, not thrown. */
  #leasing = false;
  /**
   * The payloads a lease found failing their checksum, by the stand-in read handed to the table
   * instead (a lease must not throw half-way through the table's changes); null while none did.
   */
  #damaged: Map<Uint8Array, CorruptionError> | null = null;

  private constructor(
    private readonly dir: string,
    private readonly options: Required<Omit<FileStoreOptions, 'repair'>> & { repair: boolean },
    private readonly unlock: () => Promise<void>,
  ) {
    this.capabilities = Object.freeze({
      durable: options.durability === 'fsync' ? 'power-loss' : 'process-crash',
      // The directory's lock keeps every other process out.
      events: 'process',
      remote: false,
      sleepers: false,
      endedEvents: 'every',
      transactions: false,
      maxReplicas: 0,
    });
    this.#table = new JobTable({
      read: (at, size) => (this.#replaying ? empty : this.#read(at, size)),
      release: (at, size) => this.#compactor.release(at, size),
    });
    this.#compactor = new Compactor(options.io, dir, this.#table);
  }

  /** Opens (or creates) the store in `dir`: the newest good checkpoint, then the log after it. */
  static async open(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const resolved = {
      durability: options.durability ?? 'fsync',
      intervalMs: options.intervalMs ?? 100,
      segmentBytes: options.segmentBytes ?? 64 << 20,
      repair: options.repair ?? false,
      io: options.io ?? nodeIO,
    };
    if (!['fsync', 'interval', 'none'].includes(resolved.durability))
      throw new ValidationError('durability', 'is fsync, interval or none');
    let unlock: () => Promise<void>;
    try {
      resolved.io.mkdir(dir);
      refuseLevelDb(dir, resolved.io.list(dir));
      unlock = await acquireLock(dir);
    } catch (error) {
      // A directory the file system refuses (read-only, full, not a real file system, under a
      // file) is a StorageError naming it and the cause, never a bare errno (issue 13).
      if (error instanceof LockedError || error instanceof StorageError) throw error;
      throw openFailed(dir, 'the data directory', 'directory', error);
    }
    const store = new FileStore(dir, resolved, unlock);
    try {
      await store.#load();
    } catch (error) {
      await unlock();
      throw error instanceof StorageError
        ? error
        : new StorageError(`opening ${dir} failed: ${(error as Error).message}`, { cause: error });
    }
    return store;
  }

  /** What the open found: damage it skipped (with repair), checkpoints it passed over. */
  get report(): OpenReport {
    return this.#report;
  }

  async #load(): Promise<void> {
    const { io, repair } = this.options;
    const { checkpoint, bad } = loadCheckpoint(io, this.dir);
    if (checkpoint !== null) {
      this.#table.restore(checkpoint.image);
      this.#table.payloadSpans((at, size) => this.#compactor.hold(at, size));
    }
    const { log, damage } = await openLog(
      { ...this.options, dir: this.dir, repair },
      checkpoint?.position ?? null,
      checkpoint?.ends ?? new Map(),
      (record) => this.#replay(record),
    );
    this.#log = log;
    this.#replaying = false;
    try {
      damage.push(...missingSegments(log, this.#compactor.needed(), repair));
    } catch (error) {
      await log.close();
      throw error;
    }
    // Jobs whose payload bytes were in the damage are lost: drop them, logged like any removal.
    const lost = this.#table.jobsWhere((at) => damage.some(({ from, to }) => at >= from && at < to));
    if (lost.length > 0) this.#logged({ kind: 'remove', record: { now: Date.now(), ids: lost, states: null } });
    // A store from before issue 20 has no key for lease tokens: its leases are sealed from here on.
    if (this.#table.getMeta([tokenKeyName])[0] === null) {
      this.#logged({ kind: 'meta', record: { [tokenKeyName]: newTokenKey() } });
      await this.#log.committed();
    }
    this.#report = { damage, badCheckpoints: bad, jobs: this.#table.size };
    this.#compactor.start(log);
    // After a repair or a bad checkpoint, a fresh checkpoint means the next open finds neither.
    if (damage.length > 0 || bad.length > 0) await this.checkpoint();
  }

  #replay({ type, version, body, at }: Replayed): void {
    if (type === recordKinds.add.type) {
      const { seq, params, payloadAt } = decodeAdd(version, body);
      this.#table.nextSeq = seq;
      this.#addToTable(params, at, payloadAt);
    } else if (type === recordKinds.move.type) {
      for (const { id, payloadAt } of decodeMove(version, body)) this.#compactor.relocate(id, at + payloadAt);
    } else {
      const operation = decodeOperation(type, version, body);
      if (operation !== null) this.#apply(operation);
    }
  }

  add(params: AddParams): Promise<AddResult> {
    return this.#run(async () => {
      refuseTx(params);
      // A failed log takes no more calls: the table must not get ahead of it.
      this.#log.assertWritable();
      const seq = this.#table.nextSeq;
      const { length, payloadAt } = layoutAdd(params);
      const result = this.#addToTable(params, this.#log.nextBody(length), payloadAt);
      if (!result.ok) return result;
      this.#log.append(recordKinds.add, length, (out, offset) =>
        writeAdd(ByteWriter.into(out, offset, length), seq, params),
      );
      try {
        await this.#log.committed();
      } catch (error) {
        this.#unadd(params.now, result);
        throw error;
      }
      return result;
    });
  }

  /**
   * Takes out of the table the jobs an add created, when the write of its record failed and the
   * add is refused: they showed in counts, listings and leases until a reopen, in every
   * durability mode, though the caller was told the add failed (a full disk's partial write is
   * cut off at the reopen, and they were gone then). A record that did reach the disk (its
   * fdatasync failed) may still bring them back at a reopen: a refused call may have been applied.
   */
  #unadd(now: number, result: AddResult & { ok: true }): void {
    this.#table.remove({ now, ids: result.ids.filter((_, i) => result.created[i]), states: null });
  }

  /**
   * Adds to the table the jobs of an add record whose body is at log position `at`; the payloads
   * of those it creates count as live, all at once (one segment holds a whole record).
   */
  #addToTable(params: AddParams, at: number, payloadAt: readonly number[]): AddResult {
    const result = this.#table.add(params, (i) => at + (payloadAt[i] as number));
    if (!result.ok) return result;
    let jobs = 0;
    let bytes = 0;
    for (let i = 0; i < params.jobs.length; i++) {
      if (!result.created[i]) continue;
      jobs++;
      bytes += (params.jobs[i] as NewJob).payload.byteLength;
    }
    if (jobs > 0) this.#compactor.hold(at, bytes, jobs);
    return result;
  }

  // A lease or an extension answers before its record is durable: the ack that follows rides
  // the same log, so its sync covers them; one lost in a power cut only gives the job back.
  lease(params: LeaseParams): Promise<LeaseResult> {
    return this.#run(() => Promise.resolve(this.#lease(params)));
  }

  /**
   * A job whose payload fails its checksum is never handed out: it goes dead with the
   * CorruptionError, logged like any nack, and the lease takes the next job in its place.
   */
  #lease(params: LeaseParams): LeaseResult {
    let { result, damaged } = this.#leaseOnce(params);
    // Most leases find nothing damaged: their answer goes out as the table gave it.
    if (damaged === null) return result;
    const jobs: LeaseResult['jobs'][number][] = [];
    for (;;) {
      for (const job of result.jobs) {
        const error = damaged?.get(job.payload);
        if (error === undefined) jobs.push(job);
        else {
          const nack = { now: params.now, token: job.token, delayMs: 0, kind: 'dead' } as const;
          this.#logged({ kind: 'nack', record: { ...nack, error: `${error.name}: ${error.message}` } });
        }
      }
      if (damaged === null || jobs.length === params.max) return { jobs, nextAt: result.nextAt };
      ({ result, damaged } = this.#leaseOnce({ ...params, max: params.max - jobs.length }));
    }
  }

  /** One lease of the table, with the payloads it found damaged (null: none). */
  #leaseOnce(params: LeaseParams): { result: LeaseResult; damaged: Map<Uint8Array, CorruptionError> | null } {
    this.#leasing = true;
    try {
      return { result: this.#logged({ kind: 'lease', record: params }) as LeaseResult, damaged: this.#damaged };
    } finally {
      this.#leasing = false;
      this.#damaged = null;
    }
  }

  #read(at: number, size: number): Uint8Array {
    try {
      return this.#log.read(at, size);
    } catch (error) {
      if (!(error instanceof CorruptionError) || !this.#leasing) throw error;
      const standIn = new Uint8Array(0);
      (this.#damaged ??= new Map()).set(standIn, error);
      return standIn;
    }
  }
  extend(params: ExtendParams): Promise<ExtendResult> {
    return this.#run(() => Promise.resolve(this.#logged({ kind: 'extend', record: params }) as ExtendResult));
  }
  ack(params: AckParams): Promise<readonly AckResult[]> {
    // The check stays off the acks' path: no await of its own for every batch.
    if (params.tx !== undefined) return this.#run(() => Promise.resolve(refuseTx(params)).then(() => []));
    return this.#durable({ kind: 'ack', record: params }) as Promise<readonly AckResult[]>;
  }
  nack(params: NackParams): Promise<NackResult> {
    return this.#durable({ kind: 'nack', record: params }) as Promise<NackResult>;
  }
  remove(params: RemoveParams): Promise<readonly string[]> {
    return this.#durable({ kind: 'remove', record: params }) as Promise<readonly string[]>;
  }
  hold(params: HoldParams): Promise<readonly string[]> {
    return this.#durable({ kind: 'hold', record: params }) as Promise<readonly string[]>;
  }
  retryDead(params: RetryDeadParams): Promise<number> {
    return this.#durable({ kind: 'retryDead', record: params }) as Promise<number>;
  }
  promote(params: PromoteParams): Promise<number> {
    return this.#durable({ kind: 'promote', record: params }) as Promise<number>;
  }
  purge(params: PurgeParams): Promise<number> {
    return this.#durable({ kind: 'purge', record: params }) as Promise<number>;
  }
  configure(params: ConfigureParams): Promise<QueueSettings> {
    return this.#durable({ kind: 'configure', record: params }) as Promise<QueueSettings>;
  }
  settings({ queues }: QueuesParams): Promise<readonly QueueSettings[]> {
    return this.#run(() => Promise.resolve(this.#table.settings(queues)));
  }
  queues(_params: NowParams): Promise<readonly string[]> {
    return this.#run(() => Promise.resolve(this.#table.queues()));
  }
  setMeta({ entries }: SetMetaParams): Promise<void> {
    return this.#durable({ kind: 'meta', record: entries }) as Promise<void>;
  }

  leases({ now, tokens }: TokensParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(() => Promise.resolve(this.#table.leases(tokens, now)));
  }
  leasesOf({ now, ids }: IdsParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(() => Promise.resolve(this.#table.leasesOf(ids, now)));
  }
  get({ now, ids }: IdsParams): Promise<readonly (JobRecord | null)[]> {
    return this.#run(() => Promise.resolve(this.#table.get(ids, now)));
  }
  peek({ now, queue, limit }: PeekParams): Promise<readonly JobRecord[]> {
    return this.#run(() => Promise.resolve(this.#table.peek(queue, limit, now)));
  }
  list(params: ListParams): Promise<ListResult> {
    return this.#run(() => Promise.resolve(this.#table.list(params)));
  }
  counts({ now, queues }: QueuesParams): Promise<readonly Counts[]> {
    return this.#run(() => Promise.resolve(this.#table.counts(queues, now)));
  }
  getMeta({ names }: GetMetaParams): Promise<readonly (string | null)[]> {
    return this.#run(() => Promise.resolve(this.#table.getMeta(names)));
  }
  listMeta({ prefix }: ListMetaParams): Promise<readonly string[]> {
    return this.#run(() => Promise.resolve(this.#table.listMeta(prefix)));
  }
  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return Promise.resolve(this.#table.watch(listener));
  }

  /** Makes everything answered so far durable now, whatever the durability mode. */
  sync(): Promise<void> {
    return this.#run(() => this.#log.sync());
  }

  /** Writes a checkpoint now, then deletes the segments no checkpoint or job needs. */
  checkpoint(): Promise<void> {
    return this.#compactor.checkpoint();
  }

  health(): Promise<Health> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'closed' });
    const failure = this.#log.failure;
    return Promise.resolve(failure === null ? { ok: true } : { ok: false, reason: failure.message });
  }

  /** A clean close leaves a checkpoint at the end of the log: the next open replays nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#compactor.stop();
    try {
      // Best effort: the log holds every answered call whether or not this checkpoint lands.
      await this.checkpoint().catch(() => {});
    } finally {
      await this.#log.close().catch(() => {});
      await this.unlock();
    }
  }

  /** Applies a call that changes nothing durable-worthy on its own: logged, answered at once. */
  #logged(operation: Operation): unknown {
    this.#log.assertWritable();
    const result = this.#apply(operation);
    const logged =
      operation.kind === 'ack'
        ? { kind: operation.kind, record: this.#replayable(operation.record, result as readonly AckResult[]) }
        : operation;
    const kind = encodeOperation(this.#writer, logged);
    const body = this.#writer.view();
    this.#log.append(kind, body.length, (out, offset) => body.copy(out, offset));
    return result;
  }

  /**
   * An ack as replay must repeat it, in the record that knows no scope: without the tokens its
   * scope refused (they changed nothing).
   */
  #replayable(params: AckRecord & Pick<AckParams, 'scope'>, results: readonly AckResult[]): AckRecord {
    const { now, items, scope } = params;
    if (scope === undefined) return params;
    // Looked at after the ack: a completed job may be gone already, an untouched one is as it was.
    return { now, items: items.filter(({ token }, i) => results[i] !== null || this.#table.inScope(token, scope)) };
  }

  #durable(operation: Operation): Promise<unknown> {
    return this.#run(async () => {
      const result = this.#logged(operation);
      await this.#log.committed();
      return result;
    });
  }

  #apply({ kind, record }: Operation): unknown {
    const t = this.#table;
    switch (kind) {
      case 'lease':
        return t.lease(record);
      case 'ack':
        if (record.retention !== undefined) this.#replayRetention(record.items, record.retention, record.now);
        return t.ack(record);
      case 'nack':
        return t.nack(record);
      case 'extend':
        return t.extend(record);
      case 'remove':
        return t.remove(record);
      case 'hold':
        return t.hold(record);
      case 'retryDead':
        return t.retryDead(record.queue, record.ids, record.now);
      case 'promote':
        return t.promote(record.queue, record.ids, record.now);
      case 'purge':
        return t.purge(record.queue, record.now);
      case 'configure':
        return t.configure(record.queue, record.changes, record.now);
      case 'meta':
        return t.setMeta(record);
    }
  }

  /**
   * Before queues stored their settings, each ack carried its queues' retention, none for a
   * queue it did not name: replayed, it becomes the queue's stored retention, as the last
   * ack's did rule then.
   */
  #replayRetention(items: AckRecord['items'], retention: AckRecord['retention'] & object, now: number): void {
    const t = this.#table;
    for (const leased of t.leases(
      items.map((item) => item.token),
      now,
    )) {
      if (leased === null) continue;
      const keep = retention[leased.queue] ?? { count: 0, ageMs: 0 };
      const [current] = t.settings([leased.queue]);
      if (current?.keepCompleted.count !== keep.count || current.keepCompleted.ageMs !== keep.ageMs)
        t.configure(leased.queue, { keepCompleted: keep }, now);
    }
  }

  /** Runs one call; a closed store or a throw becomes a rejection, never a synchronous throw. */
  async #run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClosedError('store');
    return operation();
  }
}

/**
 * A LevelDB store's directory (its CURRENT file) is refused before the lock is taken: LevelDB's
 * LOCK is an empty file, which acquireLock took for a dead owner's and replaced, so the file
 * store opened beside a running LevelDB store (showing none of its jobs) and broke its lock: a
 * second `leveldb:` open of the directory then succeeded, two processes writing one LevelDB.
 */
function refuseLevelDb(dir: string, names: readonly string[]): void {
  if (names.includes('CURRENT') && names.some((name) => name.startsWith('MANIFEST-')))
    throw new StorageError(
      `${dir}: holds a LevelDB database (CURRENT, MANIFEST), not a file store: open it as leveldb:${dir}, or give file: another directory`,
    );
}
