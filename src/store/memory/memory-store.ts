import { asError, ClosedError } from '../../errors.ts';
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
import { JobTable } from './job-table.ts';
import { newTokenKey, tokenKeyName } from './token-seal.ts';

/** The whole Store contract in one process's memory: `memory:`. Nothing survives the process. */
export class MemoryStore implements Store {
  readonly capabilities: Capabilities = Object.freeze({
    durable: 'none',
    events: 'process',
    remote: false,
    sleepers: false,
    endedEvents: 'every',
    transactions: false,
    maxReplicas: 0,
  });

  readonly #table = new JobTable();
  #closed = false;

  constructor() {
    this.#table.setMeta({ [tokenKeyName]: newTokenKey() });
  }

  add(params: AddParams): Promise<AddResult> {
    return this.#run(() => {
      refuseTx(params);
      return this.#table.add(params);
    });
  }
  lease(params: LeaseParams): Promise<LeaseResult> {
    return this.#run(() => this.#table.lease(params));
  }
  ack(params: AckParams): Promise<readonly AckResult[]> {
    return this.#run(() => {
      refuseTx(params);
      return this.#table.ack(params);
    });
  }
  nack(params: NackParams): Promise<NackResult> {
    return this.#run(() => this.#table.nack(params));
  }
  extend(params: ExtendParams): Promise<ExtendResult> {
    return this.#run(() => this.#table.extend(params));
  }
  leases({ now, tokens }: TokensParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(() => this.#table.leases(tokens, now));
  }
  leasesOf({ now, ids }: IdsParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#run(() => this.#table.leasesOf(ids, now));
  }
  get({ now, ids }: IdsParams): Promise<readonly (JobRecord | null)[]> {
    return this.#run(() => this.#table.get(ids, now));
  }
  peek({ now, queue, limit }: PeekParams): Promise<readonly JobRecord[]> {
    return this.#run(() => this.#table.peek(queue, limit, now));
  }
  list(params: ListParams): Promise<ListResult> {
    return this.#run(() => this.#table.list(params));
  }
  counts({ now, queues }: QueuesParams): Promise<readonly Counts[]> {
    return this.#run(() => this.#table.counts(queues, now));
  }
  remove(params: RemoveParams): Promise<readonly string[]> {
    return this.#run(() => this.#table.remove(params));
  }
  hold(params: HoldParams): Promise<readonly string[]> {
    return this.#run(() => this.#table.hold(params));
  }
  retryDead({ now, queue, ids }: RetryDeadParams): Promise<number> {
    return this.#run(() => this.#table.retryDead(queue, ids, now));
  }
  promote({ now, queue, ids }: PromoteParams): Promise<number> {
    return this.#run(() => this.#table.promote(queue, ids, now));
  }
  purge({ now, queue }: PurgeParams): Promise<number> {
    return this.#run(() => this.#table.purge(queue, now));
  }
  settings({ queues }: QueuesParams): Promise<readonly QueueSettings[]> {
    return this.#run(() => this.#table.settings(queues));
  }
  configure({ now, queue, changes }: ConfigureParams): Promise<QueueSettings> {
    return this.#run(() => this.#table.configure(queue, changes, now));
  }
  queues(_params: NowParams): Promise<readonly string[]> {
    return this.#run(() => this.#table.queues());
  }
  getMeta({ names }: GetMetaParams): Promise<readonly (string | null)[]> {
    return this.#run(() => this.#table.getMeta(names));
  }
  setMeta({ entries }: SetMetaParams): Promise<void> {
    return this.#run(() => this.#table.setMeta(entries));
  }
  listMeta({ prefix }: ListMetaParams): Promise<readonly string[]> {
    return this.#run(() => this.#table.listMeta(prefix));
  }

  /** Nothing to sync: nothing of it survives the process anyway. */
  sync(): Promise<void> {
    return this.#run(() => undefined);
  }

  health(): Promise<Health> {
    return Promise.resolve(this.#closed ? { ok: false, reason: 'closed' } : { ok: true });
  }

  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return Promise.resolve(this.#table.watch(listener));
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
      return Promise.reject(asError(error));
    }
  }
}
