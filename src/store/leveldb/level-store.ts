// `leveldb:./dir`: jobs as rows in a LevelDB directory (diskoque's backend), on classic-level.
//
// One process owns a directory (LevelDB's own LOCK file: a second open is a LockedError). The
// rows and their orders are kept in memory as well, loaded at open (the waiting jobs by a range
// read of their keys, which sort in lease order); each call's writes join its group's one atomic
// batch, written with sync (fsync, the default: an answered call survives a power cut) or
// without (none: it survives a process crash, not a power cut).
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { LockedError, StorageError, ValidationError } from '../../errors.ts';
import type { Capabilities, StoreEvent } from '../contract.ts';
import { openFailed } from '../local-path.ts';
import { newTokenKey, tokenKeyName } from '../memory/token-seal.ts';
import { RowStore } from '../rows/row-store.ts';
import type { RowBackend } from '../rows/row-store.ts';
import type { Row } from '../rows/rows.ts';
import { countersKey, decodeCounter, decodeQueue, decodeRow, metaKey, seqOfWaitingKey } from './keys.ts';
import { LevelRows } from './level-rows.ts';
import type { Op } from './level-rows.ts';

export type LevelDurability = 'fsync' | 'none';

export interface LevelStoreOptions {
  /** fsync (default): an answered call survives a power cut; none: a process crash, not a power cut. */
  durability?: LevelDurability;
}

type Db = ClassicLevel<string, Uint8Array>;

/** Who holds the directory, for the LockedError of a second open (LevelDB's LOCK file says nothing). */
const ownerFile = 'spool.pid';
/** A batch put's options for a text value: the db's default value encoding is bytes. */
const utf8Value = { valueEncoding: 'utf8' } as const;
/**
 * Directories this process has open. LevelDB's lock is an fcntl lock, which a process loses when
 * it closes any descriptor of the file: LevelDB's refusal of a second open in the same process
 * closes one, and the directory would then open in another process as well. So a second open
 * here is refused before LevelDB sees it.
 */
const openHere = new Set<string>();

export class LevelStore extends RowStore {
  /** Opens (or creates) the store in directory `dir`. */
  static async open(dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const durability = options.durability ?? 'fsync';
    if (durability !== 'fsync' && durability !== 'none')
      throw new ValidationError('durability', `must be fsync or none, got "${String(durability)}"`);
    const where = realDir(dir);
    refuseFileStore(dir);
    if (openHere.has(where)) throw new LockedError(dir, process.pid);
    openHere.add(where);
    const db: Db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (error) {
      openHere.delete(where);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') throw new LockedError(dir, owner(dir));
      // classic-level's own message is "Database failed to open" whatever the reason: LevelDB's
      // (a full disk, a missing manifest, "Corruption: …") is in its cause, which a CLI user never saw.
      // A directory that cannot be written is named as file: and sqlite: name it: LevelDB said only
      // "IO error: <dir>/LOCK: Operation not permitted".
      const why = cause?.message === undefined ? '' : `: ${cause.message}`;
      throw openFailed(dir, 'the LevelDB directory', 'directory', error, `${(error as Error).message}${why}`);
    }
    try {
      writeFileSync(join(dir, ownerFile), String(process.pid));
      const backend = new LevelBackend(db, dir, durability === 'fsync', () => openHere.delete(where));
      await backend.load();
      const capabilities: Capabilities = Object.freeze({
        durable: durability === 'fsync' ? 'power-loss' : 'process-crash',
        events: 'process',
        remote: false,
        sleepers: false,
        endedEvents: 'every',
        transactions: false,
        maxReplicas: 0,
      });
      return new LevelStore(capabilities, backend);
    } catch (error) {
      await db.close().catch(() => {});
      openHere.delete(where);
      throw error instanceof StorageError
        ? error
        : new StorageError(`${dir}: cannot load the LevelDB store: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The directory's own path, made if it is missing: a symlink to an open directory (or a path
 * through one) is the same directory, and LevelDB's own check goes by the path it is given.
 */
function realDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    return realpathSync(dir);
  } catch (error) {
    throw openFailed(dir, 'the LevelDB directory', 'directory', error);
  }
}

/**
 * A file store's directory (its segments) is refused: LevelDB created a database of its own
 * beside the file store's data and showed none of its jobs, and a file store opened there later
 * took LevelDB's empty LOCK for a dead owner's and replaced it.
 */
function refuseFileStore(dir: string): void {
  const segment = readdirSync(dir).find((name) => /^\d+\.seg$/.test(name));
  if (segment !== undefined)
    throw new StorageError(
      `${dir}: holds a spool file store (${segment}), not a LevelDB database: open it as file:${dir}, or give leveldb: another directory`,
    );
}

function owner(dir: string): number {
  try {
    return Number(readFileSync(join(dir, ownerFile), 'utf8')) || 0;
  } catch {
    return 0;
  }
}

class LevelBackend implements RowBackend {
  readonly rows: LevelRows;
  #group: Op[] = [];
  /** Set when a call failed half-way: memory may be ahead of the disk, so no more calls. */
  #broken: Error | null = null;
  /** The last batch sent: the next waits for it. */
  #landed: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    readonly location: string,
    private readonly sync: boolean,
    private readonly closed: () => void,
  ) {
    this.rows = new LevelRows((key) => db.getSync(key));
  }

  /** Reads the whole store into memory; a new store gets its token key. */
  async load(): Promise<void> {
    const rows = this.rows;
    const text = (value: Uint8Array): string =>
      Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    const counters = await this.db.get(countersKey);
    if (counters !== undefined) rows.seq = decodeCounter(text(counters));
    for await (const [key, value] of this.db.iterator({ gte: 'm', lt: 'n' })) rows.meta.set(key.slice(1), text(value));
    for await (const [, value] of this.db.iterator({ gte: 'q', lt: 'r' })) {
      const queue = decodeQueue(text(value));
      rows.queues.set(queue.name, queue);
    }
    for await (const [, value] of this.db.iterator({ gte: 'j', lt: 'k' })) rows.load(decodeRow(text(value)));
    for await (const key of this.db.keys({ gte: 'w', lt: 'x' })) {
      const row = rows.jobs.get(seqOfWaitingKey(key)) as Row;
      rows.lines(row.queue).waiting.push(row);
    }
    for (const queue of rows.queues.keys()) {
      const lines = rows.lines(queue);
      for (const line of [lines.delayed, lines.active, lines.dead, lines.completed, lines.ttl]) line.sort();
    }
    if (!rows.meta.has(tokenKeyName)) {
      const key = newTokenKey();
      await this.db.put(metaKey(tokenKeyName), Buffer.from(key), { sync: this.sync });
      rows.meta.set(tokenKeyName, key);
    }
  }

  begin(): void {
    if (this.#broken !== null) throw this.#broken;
    this.#group = [];
  }

  atomic<T>(run: () => T): T {
    this.rows.ops = [];
    try {
      const result = run();
      for (const op of this.rows.ops) this.#group.push(op);
      return result;
    } catch (error) {
      this.#broken = new StorageError(`a call failed half-way; reopen the store: ${(error as Error).message}`, {
        cause: error,
      });
      throw this.#broken;
    }
  }

  async commit(_events: readonly StoreEvent[]): Promise<void> {
    const ops = this.#group;
    if (ops.length === 0) return;
    // Payloads added so far are read from memory until their batch is on disk (batches land in order).
    const written = [...this.rows.pending.keys()];
    // A chained batch, not an array one: abstract-level copies every op of an array batch into a
    // new object with the call's options spread in, which cost 5x LevelDB's own work (issue 16:
    // 49 µs a job of CPU against 10). Text values go as text, with no Buffer made for each.
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'del') batch.del(op.key);
      else if (typeof op.value === 'string') batch.put(op.key, op.value, utf8Value);
      else batch.put(op.key, op.value);
    }
    // One batch at a time: each runs on a thread of libuv's pool, and two in flight may reach
    // LevelDB in either order, so a lease's batch could land after the ack's that follows it
    // and undo the ack (seen in the kill -9 loop: an acked job back as active).
    const landed = this.#landed.then(() => batch.write({ sync: this.sync }));
    this.#landed = landed.catch(() => {});
    await landed;
    for (const seq of written) this.rows.pending.delete(seq);
  }

  rollback(): void {
    // Memory is ahead of the disk now: the store takes no more calls (RowStore fails it).
    this.#broken ??= new StorageError('a batch write failed; reopen the store');
  }

  async close(): Promise<void> {
    await this.db.close();
    this.closed();
  }
}
