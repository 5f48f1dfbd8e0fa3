import { ClosedError } from '../../errors.ts';
import type {
  AckParams,
  AddParams,
  AddResult,
  Capabilities,
  Counts,
  ExtendParams,
  ExtendResult,
  Health,
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
import { JobTable } from './job-table.ts';
import { newTokenKey, tokenKeyName } from './token-seal.ts';

/** The whole Store contract in one process's memory: `memory:`. Nothing survives the process. */
export class MemoryStore implements Store {
  readonly capabilities: Capabilities = Object.freeze({
    durable: 'none',
    shared: false,
    clock: 'injected',
    maxReplicas: 0,
  });

  readonly #table = new JobTable();
  #closed = false;

  constructor() {
    this.#table.setMeta({ [tokenKeyName]: newTokenKey() });
  }

  add(params: AddParams): Promise<AddResult> {
    return this.#run(() => this.#table.add(params));
  }
  lease(params: LeaseParams): Promise<LeaseResult> {
    return this.#run(() => this.#table.lease(params));
  }
  ack(params: AckParams): Promise<readonly Settle[]> {
    return this.#run(() => this.#table.ack(params));
  }
  nack(params: NackParams): Promise<NackResult> {
    return this.#run(() => this.#table.nack(params));
  }
  extend(params: ExtendParams): Promise<ExtendResult> {
    return this.#run(() => this.#table.extend(params));
  }
  leases(tokens: readonly string[], now: number): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(() => this.#table.leases(tokens, now));
  }
  leasesOf(ids: readonly string[], now: number): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(() => this.#table.leasesOf(ids, now));
  }
  get(ids: readonly string[], now: number): Promise<readonly (JobRecord | null)[]> {
    return this.#run(() => this.#table.get(ids, now));
  }
  peek(queue: string, limit: number, now: number): Promise<readonly JobRecord[]> {
    return this.#run(() => this.#table.peek(queue, limit, now));
  }
  list(params: ListParams): Promise<ListResult> {
    return this.#run(() => this.#table.list(params));
  }
  counts(queues: readonly string[], now: number): Promise<readonly Counts[]> {
    return this.#run(() => this.#table.counts(queues, now));
  }
  remove(params: RemoveParams): Promise<readonly string[]> {
    return this.#run(() => this.#table.remove(params));
  }
  retryDead(queue: string, ids: readonly string[] | null, now: number): Promise<number> {
    return this.#run(() => this.#table.retryDead(queue, ids, now));
  }
  purge(queue: string, now: number): Promise<number> {
    return this.#run(() => this.#table.purge(queue, now));
  }
  setPaused(queue: string, paused: boolean, now: number): Promise<void> {
    return this.#run(() => this.#table.setPaused(queue, paused, now));
  }
  getMeta(names: readonly string[]): Promise<readonly (string | null)[]> {
    return this.#run(() => this.#table.getMeta(names));
  }
  setMeta(entries: Readonly<Record<string, string | null>>): Promise<void> {
    return this.#run(() => this.#table.setMeta(entries));
  }
  listMeta(prefix: string): Promise<readonly string[]> {
    return this.#run(() => this.#table.listMeta(prefix));
  }

  health(): Promise<Health> {
    return Promise.resolve(this.#closed ? { ok: false, reason: 'closed' } : { ok: true });
  }

  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    const unwatch = this.#table.watch(listener);
    return Promise.resolve(() => {
      unwatch();
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
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
