// The embedded file store: a write-ahead log of the job table's calls, in segment files.
//
// Every call that changes state is applied to the job table, framed into the log, and (adds,
// acks, nacks and the rest) answered once its record is durable. The table is a pure function
// of the calls it gets, `now` included, so replaying the log rebuilds it exactly. Payloads stay
// in the log: the table keeps their positions and reads them back on demand. Checkpoints of
// the table bound what an open replays; a segment goes once no live job's payload is in it and
// the kept checkpoints no longer start before it, and compaction copies the few live payloads
// out of sparse old segments so they can go.
import { ClosedError, CorruptionError, LockedError, StorageError, ValidationError } from '../../errors.ts';
import { refuseTx } from '../contract.ts';
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
  NowParams,
  PeekParams,
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
import { JobTable } from '../memory/engine.ts';
import { newTokenKey, tokenKeyName } from '../memory/token-seal.ts';
import { ByteWriter } from './bytes.ts';
import { checkpointFiles, checkpointSegment, encodeCheckpoint, loadCheckpoint, writeCheckpoint } from './checkpoint.ts';
import {
  decodeAck,
  decodeAdd,
  decodeLease,
  decodeMove,
  decodeOperation,
  encodeAck,
  encodeAdd,
  encodeLease,
  encodeMove,
  encodeOperation,
} from './codec.ts';
import type { Operation } from './codec.ts';
import { nodeIO } from './io.ts';
import type { FileIO } from './io.ts';
import { acquireLock } from './lock.ts';
import { Log, positionOf, segmentOf } from './log.ts';
import type { Damage, Durability, Replayed } from './log.ts';
import { recordType } from './record.ts';

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
/** Live payload bytes below this share of what a sealed segment held make compaction move them out. */
const compactBelow = 0.5;
/** Payload bytes one compaction step moves before it lets the commit path run. */
const compactStepBytes = 1 << 20;

interface Live {
  jobs: number;
  bytes: number;
  /** Payload bytes the segment ever held for the table: live ones against these say how sparse it is. */
  held: number;
}

export class FileStore implements Store {
  readonly capabilities: Capabilities;
  readonly #table: JobTable;
  readonly #writer = new ByteWriter(1 << 16);
  readonly #live = new Map<number, Live>();
  #log!: Log;
  #replaying = true;
  #closed = false;
  /** The checkpoint running or last run: checkpoints go one at a time. */
  #checkpoints: Promise<void> = Promise.resolve();
  /** A checkpoint asked for and not started yet: asking again joins it. */
  #queued: Promise<void> | null = null;
  #collectTimer: NodeJS.Timeout | null = null;
  /** Segments the kept checkpoints start in: nothing before the smallest is needed for replay. */
  #checkpointStarts: number[] = [];
  #report!: OpenReport;
  /**
   * While a lease runs: the payloads that failed their checksum, by the stand-in read handed to
   * the table instead. A lease must not throw half-way through the table's changes.
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
      transactions: false,
      maxReplicas: 0,
    });
    this.#table = new JobTable({
      read: (at, size) => (this.#replaying ? empty : this.#read(at, size)),
      release: (at, size) => this.#release(at, size),
    });
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
      unlock = await acquireLock(dir);
    } catch (error) {
      // A directory the file system refuses (read-only, full, not a real file system, under a
      // file) is a StorageError naming it and the cause, never a bare errno (issue 13).
      if (error instanceof LockedError) throw error;
      throw new StorageError(`${dir}: cannot open the data directory: ${(error as Error).message}`, { cause: error });
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
      this.#table.payloadSpans((at, size) => this.#hold(at, size));
    }
    const { log, damage } = await Log.open(
      { ...this.options, dir: this.dir, repair },
      checkpoint?.position ?? null,
      checkpoint?.ends ?? new Map(),
      (record) => this.#replay(record),
    );
    this.#log = log;
    this.#replaying = false;
    // A segment that jobs still need must be there: found out now, not at the lease that needs it.
    for (const segment of this.#live.keys()) {
      if (log.has(segment)) continue;
      const file = log.path(segment);
      if (!repair) {
        await log.close();
        throw new StorageError(
          `${file}: segment missing, and ${this.#live.get(segment)?.jobs} jobs have their payloads there; run \`spool check --repair\` to keep the others`,
        );
      }
      damage.push({ file, offset: 0, from: positionOf(segment, 0), to: positionOf(segment + 1, 0) });
    }
    this.#checkpointStarts = checkpointFiles(io, this.dir).slice(0, 2).map(checkpointSegment);
    // Jobs whose payload bytes were in the damage are lost: drop them, logged like any removal.
    const lost = this.#table.jobsWhere((at) => damage.some(({ from, to }) => at >= from && at < to));
    if (lost.length > 0) this.#logged({ op: 'remove', params: { now: Date.now(), ids: lost, states: null } });
    // A store from before issue 20 has no key for lease tokens: its leases are sealed from here on.
    if (this.#table.getMeta([tokenKeyName])[0] === null) {
      this.#logged({ op: 'setMeta', params: { [tokenKeyName]: newTokenKey() } });
      await this.#log.committed();
    }
    this.#report = { damage, badCheckpoints: bad, jobs: this.#table.size };
    log.rotated = () => this.#scheduleCheckpoint();
    // After a repair or a bad checkpoint, a fresh checkpoint means the next open finds neither.
    if (damage.length > 0 || bad.length > 0) await this.checkpoint();
  }

  #replay({ type, body, at }: Replayed): void {
    if (type === recordType.add) {
      const { seq, params, payloadAt } = decodeAdd(body);
      this.#table.nextSeq = seq;
      this.#table.add(params, (i) =>
        this.#hold(at + (payloadAt[i] as number), params.jobs[i]?.payload.byteLength ?? 0),
      );
    } else if (type === recordType.move) {
      for (const { id, payloadAt } of decodeMove(body)) {
        const size = this.#table.relocate(id, at + payloadAt);
        if (size >= 0) this.#hold(at + payloadAt, size);
      }
    } else if (type === recordType.lease) {
      this.#table.lease(decodeLease(body));
    } else if (type === recordType.ack) {
      this.#table.ack(decodeAck(body));
    } else if (type === recordType.operation) {
      this.#apply(decodeOperation(body));
    }
  }

  add(params: AddParams): Promise<AddResult> {
    return this.#run(async () => {
      refuseTx(params);
      // A failed log takes no more calls: the table must not get ahead of it.
      this.#log.assertWritable();
      const payloadAt = encodeAdd(this.#writer, this.#table.nextSeq, params);
      const length = this.#writer.length;
      const at = this.#log.nextBody(length);
      const result = this.#table.add(params, (i) =>
        this.#hold(at + (payloadAt[i] as number), params.jobs[i]?.payload.byteLength ?? 0),
      );
      if (!result.ok) return result;
      const body = this.#writer.view();
      this.#log.append(recordType.add, length, (out, offset) => body.copy(out, offset));
      await this.#log.committed();
      return result;
    });
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
    const jobs: LeaseResult['jobs'][number][] = [];
    for (;;) {
      const damaged = new Map<Uint8Array, CorruptionError>();
      this.#damaged = damaged;
      let result: LeaseResult;
      try {
        result = this.#logged({ op: 'lease', params: { ...params, max: params.max - jobs.length } }) as LeaseResult;
      } finally {
        this.#damaged = null;
      }
      for (const job of result.jobs) {
        const error = damaged.get(job.payload);
        if (error === undefined) jobs.push(job);
        else {
          const nack = { now: params.now, token: job.token, delayMs: 0, dead: true, release: false };
          this.#logged({ op: 'nack', params: { ...nack, error: `${error.name}: ${error.message}` } });
        }
      }
      if (damaged.size === 0 || jobs.length === params.max) return { jobs, nextAt: result.nextAt };
    }
  }

  #read(at: number, size: number): Uint8Array {
    try {
      return this.#log.read(at, size);
    } catch (error) {
      if (!(error instanceof CorruptionError) || this.#damaged === null) throw error;
      const standIn = new Uint8Array(0);
      this.#damaged.set(standIn, error);
      return standIn;
    }
  }
  extend(params: ExtendParams): Promise<ExtendResult> {
    return this.#run(() => Promise.resolve(this.#logged({ op: 'extend', params }) as ExtendResult));
  }
  ack(params: AckParams): Promise<readonly AckResult[]> {
    // The check stays off the acks' path: no await of its own for every batch.
    if (params.tx !== undefined) return this.#run(() => Promise.resolve(refuseTx(params)).then(() => []));
    return this.#durable({ op: 'ack', params }) as Promise<readonly AckResult[]>;
  }
  nack(params: NackParams): Promise<NackResult> {
    return this.#durable({ op: 'nack', params }) as Promise<NackResult>;
  }
  remove(params: RemoveParams): Promise<readonly string[]> {
    return this.#durable({ op: 'remove', params }) as Promise<readonly string[]>;
  }
  retryDead(params: RetryDeadParams): Promise<number> {
    return this.#durable({ op: 'retryDead', params }) as Promise<number>;
  }
  purge(params: PurgeParams): Promise<number> {
    return this.#durable({ op: 'purge', params }) as Promise<number>;
  }
  configure(params: ConfigureParams): Promise<QueueSettings> {
    return this.#durable({ op: 'configure', params }) as Promise<QueueSettings>;
  }
  settings({ queues }: QueuesParams): Promise<readonly QueueSettings[]> {
    return this.#run(() => Promise.resolve(this.#table.settings(queues)));
  }
  queues(_params: NowParams): Promise<readonly string[]> {
    return this.#run(() => Promise.resolve(this.#table.queues()));
  }
  setMeta({ entries }: SetMetaParams): Promise<void> {
    return this.#durable({ op: 'setMeta', params: entries }) as Promise<void>;
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
    const unwatch = this.#table.watch(listener);
    return Promise.resolve(() => {
      unwatch();
      return Promise.resolve();
    });
  }

  /** Makes everything answered so far durable now, whatever the durability mode. */
  sync(): Promise<void> {
    return this.#run(() => this.#log.sync());
  }

  /** Writes a checkpoint now, then deletes the segments no checkpoint or job needs. */
  checkpoint(): Promise<void> {
    if (this.#queued === null) {
      const queued = this.#checkpoints.then(() => {
        this.#queued = null;
        return this.#writeCheckpoint();
      });
      this.#queued = queued;
      this.#checkpoints = queued.catch(() => {});
    }
    return this.#queued;
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
    if (this.#collectTimer !== null) clearTimeout(this.#collectTimer);
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
    if (operation.op === 'lease' || operation.op === 'ack') {
      if (operation.op === 'lease') encodeLease(this.#writer, operation.params);
      else encodeAck(this.#writer, operation.params);
      const body = this.#writer.view();
      this.#log.append(recordType[operation.op], body.length, (out, offset) => body.copy(out, offset));
    } else {
      const json = encodeOperation(operation);
      this.#log.append(recordType.operation, Buffer.byteLength(json), (out, offset) => out.write(json, offset));
    }
    return result;
  }

  #durable(operation: Operation): Promise<unknown> {
    return this.#run(async () => {
      const result = this.#logged(operation);
      await this.#log.committed();
      return result;
    });
  }

  #apply(operation: Operation): unknown {
    const t = this.#table;
    switch (operation.op) {
      case 'lease':
        return t.lease(operation.params);
      case 'ack':
        return t.ack(operation.params);
      case 'nack':
        return t.nack(operation.params);
      case 'extend':
        return t.extend(operation.params);
      case 'remove':
        return t.remove(operation.params);
      case 'retryDead':
        return t.retryDead(operation.params.queue, operation.params.ids, operation.params.now);
      case 'purge':
        return t.purge(operation.params.queue, operation.params.now);
      case 'setPaused':
        return t.configure(operation.params.queue, { paused: operation.params.paused }, operation.params.now);
      case 'configure':
        return t.configure(operation.params.queue, operation.params.changes, operation.params.now);
      case 'setMeta':
        return t.setMeta(operation.params);
    }
  }

  /** Counts a payload at `at` as live: its segment stays. Returns `at`. */
  #hold(at: number, size: number): number {
    const segment = segmentOf(at);
    const live = this.#live.get(segment);
    if (live === undefined) this.#live.set(segment, { jobs: 1, bytes: size, held: size });
    else {
      live.jobs++;
      live.bytes += size;
      live.held += size;
    }
    return at;
  }

  #release(at: number, size: number): void {
    const segment = segmentOf(at);
    const live = this.#live.get(segment);
    if (live === undefined) return;
    live.jobs--;
    live.bytes -= size;
    if (live.jobs > 0) return;
    this.#live.delete(segment);
    // A drained segment frees its space at the next checkpoint; do not wait for the log to fill.
    if (!this.#replaying && !this.#closed && this.#collectTimer === null) {
      this.#collectTimer = setTimeout(() => {
        this.#collectTimer = null;
        this.#scheduleCheckpoint();
      }, 200);
      this.#collectTimer.unref();
    }
  }

  #scheduleCheckpoint(): void {
    // Best effort: a failure here is the log's, and every later call reports it.
    setImmediate(() => {
      if (!this.#closed) this.checkpoint().catch(() => {});
    });
  }

  async #writeCheckpoint(): Promise<void> {
    const position = this.#log.tail;
    const bytes = encodeCheckpoint(position, this.#table.image(), this.#log.ends(position));
    // Only segments no job of this image needs may go: a call that releases a job while the
    // checkpoint is written is not durable yet, and after a crash the image has the job again.
    const unneeded = this.#log.segments.filter((s) => !this.#live.has(s));
    // The checkpoint stands for everything before `position`: that must be on disk first.
    await this.#log.sync();
    // A failed write or sync of a checkpoint is as fatal as one of the log (fsyncgate): the disk
    // is failing, and nothing may be answered as durable on it until a reopen checks it again.
    await writeCheckpoint(this.options.io, this.dir, bytes, position).catch((error: unknown) => {
      // Out of descriptors, nothing of this checkpoint is in place: it is skipped, the log is
      // whole, and a later one will do (issue 20, defect 4).
      const code = ((error as { cause?: NodeJS.ErrnoException }).cause ?? (error as NodeJS.ErrnoException)).code;
      if (code === 'EMFILE' || code === 'ENFILE')
        throw new StorageError(`checkpoint skipped: ${(error as Error).message}`, { cause: error });
      throw this.#log.fail(error);
    });
    this.#checkpointStarts = checkpointFiles(this.options.io, this.dir).slice(0, 2).map(checkpointSegment);
    const needed = Math.min(...this.#checkpointStarts);
    const tail = position.segment;
    await this.#log.remove(unneeded.filter((s) => s < needed && s < tail));
    if (!this.#closed) await this.#compact(tail);
  }

  /** Moves the live payloads out of sealed segments that are mostly dead, a step at a time. */
  async #compact(before: number): Promise<void> {
    const sparse = [...this.#live]
      .filter(([segment, live]) => segment < before && live.bytes < live.held * compactBelow)
      .map(([segment]) => segment);
    if (sparse.length === 0) return;
    const ids = this.#table.jobsWhere((at) => sparse.includes(segmentOf(at)));
    let moved = 0;
    for (let i = 0; i < ids.length && !this.#closed;) {
      const batch: { id: string; payload: Uint8Array }[] = [];
      for (let bytes = 0; i < ids.length && bytes < compactStepBytes; i++) {
        const id = ids[i] as string;
        const payload = this.#payloadToMove(id); // null: it went since the list was made
        if (payload === null) continue;
        batch.push({ id, payload });
        bytes += payload.byteLength;
      }
      if (batch.length === 0) continue;
      const payloadAt = encodeMove(this.#writer, batch);
      const body = this.#writer.view();
      const at = this.#log.append(recordType.move, body.length, (out, offset) => body.copy(out, offset));
      batch.forEach(({ id }, k) => {
        const size = this.#table.relocate(id, at + (payloadAt[k] as number));
        if (size >= 0) this.#hold(at + (payloadAt[k] as number), size);
      });
      moved += batch.length;
      // Let the commit path run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (moved > 0 && !this.#closed) this.#scheduleCheckpoint();
  }

  /** A job's payload for compaction; null when the job is gone or the payload is damaged (a lease kills it). */
  #payloadToMove(id: string): Uint8Array | null {
    try {
      return this.#table.payloadOf(id);
    } catch (error) {
      if (error instanceof CorruptionError) return null;
      throw error;
    }
  }

  /** Runs one call; a closed store or a throw becomes a rejection, never a synchronous throw. */
  async #run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClosedError('store');
    return operation();
  }
}
