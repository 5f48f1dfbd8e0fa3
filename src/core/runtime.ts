import type {
  AckItem,
  AckResult,
  AddParams,
  AddResult,
  IdParams,
  NewJob,
  QueueSettings,
  SleeperExtension,
  Store,
} from '../store/contract.ts';
import type { Clock } from './clock.ts';
import type { Heartbeat } from './heartbeat.ts';
import type { ChangeHub } from './hub.ts';
import type { Observers } from './observers.ts';
import type { QueueConfig } from './options.ts';
import type { TickBatch } from './tick-batch.ts';

/** What a Spool shares with its queues, leased jobs and workers: the few values they need. */
export interface Runtime {
  readonly store: Store;
  /** The store's sleepers, when its capabilities declare them: blocked leases go through it. */
  readonly sleepers: SleeperExtension | null;
  /** `Store.watchEnd`, when the store tells other processes only of the ends somebody watches. */
  readonly watchEnd: ((params: IdParams) => Promise<() => Promise<void>>) | null;
  readonly clock: Clock;
  /** In [0, 1); injected so tests of jitter are repeatable. */
  readonly random: () => number;
  readonly hub: ChangeHub;
  /** Told of adds, leases and settles (metrics). */
  readonly observers: Observers;
  /** Acks of one tick, sent as one store call. */
  readonly acks: TickBatch<AckItem, AckResult>;
  /** Every add of this Spool goes through here: it sends `params` and wakes the leases blocked on their queues. */
  add(params: AddParams): Promise<AddResult>;
  /** Single adds of one tick to queues without a length limit, sent as one store call; resolves with ids. */
  readonly adds: TickBatch<NewJob, string>;
  readonly maxPayloadBytes: number;
  /** The handle options a queue was last opened with in this Spool, or the defaults. */
  config(queue: string): QueueConfig;
  /** The queue's stored settings, as read from the store at most a second ago (by `clock`). */
  settings(queue: string): Promise<QueueSettings>;
  /** The settings `settings` would give now if they are already in hand, else null: the add path reads them without a turn of the event loop. */
  knownSettings(queue: string): QueueSettings | null;
  /** Changes the queue's stored settings; the answer becomes what `settings` gives here. */
  configure(queue: string, changes: Partial<QueueSettings>): Promise<QueueSettings>;
  /** Throws ClosedError once the Spool is closed. */
  assertOpen(): void;
  /** The workers' heartbeat document in the store. */
  readonly heartbeat: Heartbeat;
  /** Closes `worker` when the Spool closes, with the close's time-out. */
  adopt(worker: AdoptedWorker): void;
}

/** A worker as the Spool closes it; `timeout` in ms, as `Worker.close` takes it. */
export interface AdoptedWorker {
  close(options: { timeout?: number }): Promise<void>;
}
