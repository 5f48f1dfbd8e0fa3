// The embedded file store, first cut: an operation log replayed into the memory store's job
// table. Every state-changing call is applied in memory, framed into the log, and answered only
// once group commit has made its record durable. The memory store is deterministic given each
// call's parameters (`now` included), so replaying the log rebuilds the exact state.
import { mkdir, open as openFile, readFile, rename, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../errors.ts';
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
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  RemoveParams,
  Settle,
  Store,
  StoreEvent,
} from '../contract.ts';
import { MemoryStore } from '../memory/memory-store.ts';
import { GroupCommit } from './group-commit.ts';
import type { Durability } from './group-commit.ts';
import { acquireLock } from './lock.ts';
import { frame, nextIntact, parse, recordType } from './record.ts';

type Operation =
  | { op: 'add'; params: AddParams; seq?: number }
  | { op: 'lease'; params: LeaseParams }
  | { op: 'ack'; params: AckParams }
  | { op: 'nack'; params: NackParams }
  | { op: 'extend'; params: ExtendParams }
  | { op: 'remove'; params: RemoveParams }
  | { op: 'retryDead'; params: { queue: string; ids: readonly string[] | null; now: number } }
  | { op: 'purge'; params: { queue: string; now: number } }
  | { op: 'setPaused'; params: { queue: string; paused: boolean; now: number } }
  | { op: 'setMeta'; params: Readonly<Record<string, string | null>> };

export interface FileStoreOptions {
  /** fsync (default): an answered call survives power loss; none: it survives a process crash. */
  durability?: Durability;
  /** Skip damaged records (keeping every intact one) instead of refusing to open. */
  repair?: boolean;
}

const encoder = new TextEncoder();

// Payloads travel through JSON as base64; the segment format of issue 4 will store them raw.
function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $b: Buffer.from(value).toString('base64') } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && '$b' in value)
    return new Uint8Array(Buffer.from((value as { $b: string }).$b, 'base64'));
  return value;
}

async function apply(store: MemoryStore, operation: Operation): Promise<unknown> {
  switch (operation.op) {
    case 'add':
      if (operation.seq !== undefined) store.nextSeq = operation.seq;
      return store.add(operation.params);
    case 'lease':
      return store.lease(operation.params);
    case 'ack':
      return store.ack(operation.params);
    case 'nack':
      return store.nack(operation.params);
    case 'extend':
      return store.extend(operation.params);
    case 'remove':
      return store.remove(operation.params);
    case 'retryDead':
      return store.retryDead(operation.params.queue, operation.params.ids, operation.params.now);
    case 'purge':
      return store.purge(operation.params.queue, operation.params.now);
    case 'setPaused':
      return store.setPaused(operation.params.queue, operation.params.paused, operation.params.now);
    case 'setMeta':
      return store.setMeta(operation.params);
  }
}

export class FileStore implements Store {
  readonly capabilities: Capabilities;

  private constructor(
    private readonly memory: MemoryStore,
    private readonly log: GroupCommit,
    private readonly file: FileHandle,
    private readonly unlock: () => Promise<void>,
    durability: Durability,
  ) {
    this.capabilities = Object.freeze({
      durable: durability === 'fsync' ? 'power-loss' : 'process-crash',
      shared: false,
      clock: 'injected',
      maxReplicas: 0,
    });
  }

  /** Opens (or creates) the store in `dir`, replaying its log; a torn tail is cut off. */
  static async open(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
    await mkdir(dir, { recursive: true });
    const unlock = await acquireLock(dir);
    try {
      const path = join(dir, 'spool.log');
      const memory = new MemoryStore();
      let bytes = await readFile(path).catch((error: NodeJS.ErrnoException) =>
        error.code === 'ENOENT' ? Buffer.alloc(0) : Promise.reject(error),
      );
      let offset = 0;
      const kept: Buffer[] = [];
      let damaged = false;
      for (;;) {
        for (let record = parse(bytes, offset); record !== null; record = parse(bytes, offset)) {
          if (record.type === recordType.operation)
            await apply(memory, JSON.parse(record.body.toString('utf8'), reviver) as Operation);
          if (options.repair === true) kept.push(bytes.subarray(offset, record.end));
          offset = record.end;
        }
        // A bad record with intact ones after it is damage, not a torn tail: cutting there would
        // drop acknowledged work, so it stops the open unless the caller asked for repair.
        const next = nextIntact(bytes, offset + 1);
        if (next === null) break;
        if (options.repair !== true) {
          throw new StorageError(
            `${path}: damaged record at offset ${offset}, intact records follow at ${next}; open with repair to skip the damage and keep the rest`,
          );
        }
        damaged = true;
        offset = next;
      }
      if (damaged) {
        // Rewrite the log from its intact records, so the next open finds no damage.
        const clean = Buffer.concat(kept);
        const tmp = `${path}.repair`;
        await writeFile(tmp, clean, { flush: true });
        await rename(tmp, path);
        bytes = clean;
        offset = clean.length;
      }
      const file = await openFile(path, bytes.length === 0 ? 'w+' : 'r+');
      if (offset < bytes.length) {
        // A crash mid-append leaves a torn or zeroed tail: nothing in it was ever acknowledged.
        await file.truncate(offset);
        await file.datasync();
      }
      const durability = options.durability ?? 'fsync';
      return new FileStore(memory, new GroupCommit(file, offset, durability, path), file, unlock, durability);
    } catch (error) {
      await unlock();
      throw error instanceof StorageError
        ? error
        : new StorageError(`opening ${dir} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  add(params: AddParams): Promise<AddResult> {
    return this.#logged({ op: 'add', params, seq: this.memory.nextSeq }) as Promise<AddResult>;
  }
  lease(params: LeaseParams): Promise<LeaseResult> {
    return this.#logged({ op: 'lease', params }) as Promise<LeaseResult>;
  }
  ack(params: AckParams): Promise<readonly Settle[]> {
    return this.#logged({ op: 'ack', params }) as Promise<readonly Settle[]>;
  }
  nack(params: NackParams): Promise<NackResult> {
    return this.#logged({ op: 'nack', params }) as Promise<NackResult>;
  }
  extend(params: ExtendParams): Promise<ExtendResult> {
    return this.#logged({ op: 'extend', params }) as Promise<ExtendResult>;
  }
  remove(params: RemoveParams): Promise<readonly string[]> {
    return this.#logged({ op: 'remove', params }) as Promise<readonly string[]>;
  }
  retryDead(queue: string, ids: readonly string[] | null, now: number): Promise<number> {
    return this.#logged({ op: 'retryDead', params: { queue, ids, now } }) as Promise<number>;
  }
  purge(queue: string, now: number): Promise<number> {
    return this.#logged({ op: 'purge', params: { queue, now } }) as Promise<number>;
  }
  setPaused(queue: string, paused: boolean, now: number): Promise<void> {
    return this.#logged({ op: 'setPaused', params: { queue, paused, now } }) as Promise<void>;
  }
  setMeta(entries: Readonly<Record<string, string | null>>): Promise<void> {
    return this.#logged({ op: 'setMeta', params: entries }) as Promise<void>;
  }

  get(ids: readonly string[], now: number): Promise<readonly (JobRecord | null)[]> {
    return this.memory.get(ids, now);
  }
  peek(queue: string, limit: number, now: number): Promise<readonly JobRecord[]> {
    return this.memory.peek(queue, limit, now);
  }
  list(params: ListParams): Promise<ListResult> {
    return this.memory.list(params);
  }
  counts(queues: readonly string[], now: number): Promise<readonly Counts[]> {
    return this.memory.counts(queues, now);
  }
  getMeta(names: readonly string[]): Promise<readonly (string | null)[]> {
    return this.memory.getMeta(names);
  }
  listMeta(prefix: string): Promise<readonly string[]> {
    return this.memory.listMeta(prefix);
  }
  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return this.memory.watch(listener);
  }

  async close(): Promise<void> {
    await this.log.drain();
    await this.memory.close();
    await this.file.close();
    await this.unlock();
  }

  /**
   * Applies `operation` now, answers once its record is durable. Records reach the log in the
   * order the calls were applied: the memory store settles each call synchronously, so every
   * `await` below resumes in call order. A call that fails in memory is never logged.
   */
  async #logged(operation: Operation): Promise<unknown> {
    const result = await apply(this.memory, operation);
    await this.log.append(frame(recordType.operation, encoder.encode(JSON.stringify(operation, replacer))));
    return result;
  }
}
