// The Store contract: the one seam between spool's core and a backend.
//
// Glossary
// - job: a payload (bytes) plus the bookkeeping below; its id is a string the store assigns,
//   unique within the store.
// - queue: a named list of jobs; created by the first add, it needs no declaration.
// - state: waiting (leasable now), delayed (leasable from `availableAt`), active (leased),
//   dead (attempts exhausted or failed for good), completed (acked and kept for a while).
//   A job that is removed, acked without being kept, or past its TTL is gone.
// - order: within a queue, higher `priority` first, then the earlier `readyAt` (the time the
//   job last became leasable), then the lower `seq` (the order the store accepted it).
// - lease: a time-limited claim on a job by one consumer; leasing moves a job to active.
// - attempt: the number of leases a job has had; the lease increments it.
// - token: `<id>:<attempt>.<seal>`, the fence of one lease. The seal is a keyed function of id
//   and attempt (a MAC) under the store's secret key, so only the store makes tokens: one cannot
//   be made from a job's id (issue 20). ack / nack / extend with a token whose lease expired,
//   whose job moved on, or whose seal is not the store's, does nothing and reports `lost`: every
//   token but the holder's gets the same answer. A job's attempt count goes back on a release
//   and to 0 on a retry of the dead, so a token of such an earlier lease fits again the lease
//   with the same attempt number.
// - visibility: how long a lease lasts before the job is handed out again (Disque's
//   RetryAfter, BlockQueue's visibility_duration).
// - reclaim: an expired lease hands the job out again at the lease's end (the visibility
//   time-out, Disque's RETRY), without waiting for the back-off: nobody reported a failure to
//   back off from. The attempt still counts, since it was handed out, so a job that crashes
//   every worker it meets goes dead once its attempts are used up; its error is 'lease
//   expired'. Stores reclaim lazily, whenever an operation looks at the queue, so no reaper
//   process has to stay alive; the `due` event wakes the blocked leases in time for it.
// - ttl: `expiresAt`; past it the job is gone in whatever state and counted as expired.
// - topic / subscription: fan-out built in core on top of a batched `add`; the topic's
//   definition is kept in meta documents (`getMeta` / `setMeta`), which stores keep beside the queues.
// - settle (a lease): its holder ends it with ack, nack, release or requeue (`NackKind`). A job
//   that completes, dies, is removed or expires has *ended* (`StoreEvent` 'ended'); making due
//   work happen is *applying what is due*.
//
// Rules every backend keeps (docs/backends.md says it at length)
// - Each call is atomic: all of it happens or none of it does, as seen by every client.
// - Every operation takes one params object carrying `now` (ms since the epoch) from the core's
//   clock: the store uses it, not a clock of its own, so tests move a manual clock.
// - Before answering, a call applies what `now` makes due in the queues it touches: delayed
//   jobs become waiting, expired leases are reclaimed, jobs past their TTL go, completed jobs
//   past their retention go.
// - Due means due: a call that makes a job leasable at a later time (a delayed add, a nack with
//   a delay, a lease that will expire) at a time earlier than the store last told the leases
//   blocked on the queue (their `LeaseResult.nextAt`, or an earlier `due` event) sends a `due`
//   event, so every blocked lease wakes then, in every process, without polling.
// - A resolved promise means the change is as durable as `capabilities.durable` says, except
//   that `lease` and `extend` may answer first: losing one only hands the job out again, and
//   the ack or nack that follows makes it durable along with itself.
import { ValidationError } from '../errors.ts';

/** The state of a job still in the store. */
export type JobState = 'waiting' | 'delayed' | 'active' | 'dead' | 'completed';

/** How a job ended, as told to watchers: it finished (completed, dead) or left the store. */
export type JobEnd = 'completed' | 'dead' | 'removed' | 'expired';

/** Back-off as data, so a Lua script or a SQL statement can compute it as well as JavaScript. */
export interface Backoff {
  readonly kind: 'fixed' | 'exponential';
  /** fixed: the delay; exponential: the first delay, doubled at each attempt. */
  readonly delayMs: number;
  /** Upper bound of the delay. */
  readonly maxDelayMs: number;
  /** 0..1: the share of the delay that is randomised (0.5 → between 50% and 100% of it). */
  readonly jitter: number;
}

/**
 * The delay before attempt `attempt + 1`, after `attempt` failed (`attempt` ≥ 1).
 * `random` is in [0, 1). Every backend computes it with exactly this formula.
 */
export function backoffDelayMs(backoff: Backoff, attempt: number, random: number): number {
  const raw = backoff.kind === 'fixed' ? backoff.delayMs : backoff.delayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(raw, backoff.maxDelayMs);
  return Math.round(capped * (1 - backoff.jitter * random));
}

export interface NewJob {
  readonly queue: string;
  readonly payload: Uint8Array;
  readonly priority: number;
  /** Leases allowed before the job goes dead; Infinity for no limit. */
  readonly maxAttempts: number;
  /** When it becomes leasable; later than `now` makes it delayed. */
  readonly availableAt: number;
  /** When it is gone whatever its state (TTL), or null. */
  readonly expiresAt: number | null;
  /** Lease length when the lease call does not set one. */
  readonly visibilityMs: number;
  readonly backoff: Backoff;
  /** Idempotency key, unique per queue while a job holding it is in the store. */
  readonly key: string | null;
}

export interface AddParams {
  readonly now: number;
  /** Refused whole (`ok: false`) when it would take a queue past its stored `maxLength`. */
  readonly jobs: readonly NewJob[];
  /**
   * Copies of the batch, the primary's included, that must exist before the add resolves
   * (Disque's REPLICATE); 1 when absent. Core keeps it within `capabilities.maxReplicas + 1`.
   */
  readonly replicate?: number;
  /**
   * The caller's own database transaction or client (`capabilities.transactions`): the add
   * commits with it, and the store's watchers hear of it only after that commit. Typed `unknown`
   * here; each store narrows it to its driver's type. A store without the capability refuses it
   * (`refuseTx`).
   */
  readonly tx?: unknown;
}

export type AddResult =
  /** `created[i]`: false when an idempotency key named a job already in the store (metrics count only new jobs). */
  | { readonly ok: true; readonly ids: readonly string[]; readonly created: readonly boolean[] }
  | { readonly ok: false; readonly fullQueue: string; readonly maxLength: number };

export interface JobRecord {
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
  /** End of the current lease while active, else null. */
  readonly leaseUntil: number | null;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
  readonly key: string | null;
  /** Error messages of failed attempts, oldest first, the last `errorHistory` of them. */
  readonly errors: readonly string[];
  /** The ack's result while completed, else null. */
  readonly result: Uint8Array | null;
  /** When it completed or went dead, else null. */
  readonly finishedAt: number | null;
}

/** How many errors a job keeps. */
export const errorHistory = 10;

export interface LeasedRecord extends JobRecord {
  readonly state: 'active';
  readonly token: string;
  readonly leaseUntil: number;
}

export interface LeaseParams {
  readonly now: number;
  /** Taken left to right: the first queue is drained before the second is touched. */
  readonly queues: readonly string[];
  readonly max: number;
  /** Lease length for every job of this call, or null for each job's own `visibilityMs`. */
  readonly visibilityMs: number | null;
}

export interface LeaseResult {
  readonly jobs: readonly LeasedRecord[];
  /**
   * The earliest time after `now` when something in these queues may become leasable by
   * itself (a delay ends, a lease expires), or null. A blocked lease sleeps until then at most.
   */
  readonly nextAt: number | null;
}

/**
 * One ack's answer: the queue of the job it completed (for the caller's per-queue counts), or
 * null when it was lost: the token's lease was not current (see token), or its job's queue is
 * outside the call's `scope`.
 */
export type AckResult = string | null;

export interface AckItem {
  readonly token: string;
  readonly result: Uint8Array | null;
}

/** How long a queue keeps completed (or dead) jobs: the newest `count`, none older than `ageMs`. */
export interface Retention {
  readonly count: number;
  readonly ageMs: number;
}

/**
 * A queue's settings, kept by the store so that every process, the server and the CLI see the
 * same. The store enforces `maxLength`, `keepCompleted`, `keepDead` and `paused` itself; `maxAttempts`,
 * `backoff`, `visibilityMs` and `ttlMs` are the defaults core gives the queue's new jobs.
 */
export interface QueueSettings {
  /** Most jobs waiting or delayed; an add past it is refused. Null: no limit. */
  readonly maxLength: number | null;
  /** Leases before a job goes dead; Infinity for no limit. */
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly visibilityMs: number;
  /** Time to live from the add, or null. */
  readonly ttlMs: number | null;
  /** Completed jobs kept: pruned by the store as jobs complete and as time passes. */
  readonly keepCompleted: Retention;
  /**
   * Dead jobs kept, the newest by when they died: pruned by the store as jobs die and as time
   * passes. Every one, for ever, by default (a dead job waits for someone to look at it).
   */
  readonly keepDead: Retention;
  /** Leases take nothing from the queue. */
  readonly paused: boolean;
}

/** The settings of a queue the store has none stored for. */
export const defaultQueueSettings: QueueSettings = Object.freeze({
  maxLength: null,
  maxAttempts: 5,
  backoff: Object.freeze({ kind: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0 }),
  visibilityMs: 30_000,
  ttlMs: null,
  keepCompleted: Object.freeze({ count: 1000, ageMs: 86_400_000 }),
  keepDead: Object.freeze({ count: Infinity, ageMs: Infinity }),
  paused: false,
});

export interface ConfigureParams {
  readonly now: number;
  readonly queue: string;
  /** The settings to change; the others keep their stored values. */
  readonly changes: Partial<QueueSettings>;
}

/** Queues by name: those in `queues`, and every queue whose name starts with one of `prefixes`. */
export interface QueueScope {
  readonly queues: readonly string[];
  readonly prefixes: readonly string[];
}

export function inScope(scope: QueueScope, queue: string): boolean {
  return scope.queues.includes(queue) || scope.prefixes.some((prefix) => queue.startsWith(prefix));
}

export interface AckParams {
  readonly now: number;
  /** Each completed job is kept or not as its queue's stored `keepCompleted` says. */
  readonly items: readonly AckItem[];
  /**
   * The queues the caller may ack in (a server's token scoped to a prefix, issue 20): a token of
   * a job in any other queue is answered lost and changes nothing, checked in the same atomic
   * step as the ack. Absent: every queue.
   */
  readonly scope?: QueueScope;
  /** As `AddParams.tx`: the acks commit with the caller's transaction. */
  readonly tx?: unknown;
}

/**
 * Which way a nack settles its lease:
 * - 'fail': the attempt failed: a nack is counted and the error kept; leasable again after
 *   `delayMs`, or dead once its attempts are used up.
 * - 'dead': failed for good: as 'fail', but straight to dead whatever attempts are left.
 * - 'release': handed back, never started: the attempt is not counted, no nack, no error; back to
 *   its old place in line, or leasable after `delayMs`.
 * - 'requeue': back in line now, as if the lease had run out this moment (Disque's ENQUEUE of a
 *   job being worked on): the attempt stays counted, no nack, no error; back to its old place in
 *   line at once, whatever `delayMs` says. On the job's last attempt it goes dead, as a reclaim
 *   does, and then keeps the error (as a reclaim keeps 'lease expired'), still with no nack.
 */
export type NackKind = 'fail' | 'dead' | 'release' | 'requeue';

export interface NackParams {
  readonly now: number;
  readonly token: string;
  /** Delay before the job is leasable again, for 'fail' and 'release'. A release with none goes back to its old place in line. */
  readonly delayMs: number;
  /** Kept in the job's errors by 'fail' and 'dead', and by a 'requeue' that sends the job dead. */
  readonly error: string | null;
  readonly kind: NackKind;
}

export type NackResult = { readonly outcome: 'lost' } | { readonly outcome: 'retry' | 'dead' };

export interface ExtendParams {
  readonly now: number;
  readonly token: string;
  /** The lease ends `ms` after `now`. */
  readonly ms: number;
}

export type ExtendResult = { readonly outcome: 'lost' } | { readonly outcome: 'ok'; readonly leaseUntil: number };

export interface Counts {
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly dead: number;
  readonly completed: number;
  /** Jobs that went past their TTL since the queue was first used. */
  readonly expired: number;
  readonly paused: boolean;
}

export interface ListParams {
  readonly now: number;
  readonly queue: string;
  readonly state: JobState;
  /**
   * From the previous page, null for the first: every store's cursor is the decimal number of
   * jobs before its page, and core refuses any other string before a store sees it (`checkCursor`).
   */
  readonly cursor: string | null;
  readonly limit: number;
}

export interface ListResult {
  readonly jobs: readonly JobRecord[];
  /** Null when there is nothing after this page. */
  readonly cursor: string | null;
}

export interface RemoveParams {
  readonly now: number;
  readonly ids: readonly string[];
  /** Remove only jobs in one of these states; all states when null. */
  readonly states: readonly JobState[] | null;
}

export interface TokensParams {
  readonly now: number;
  readonly tokens: readonly string[];
}

export interface IdParams {
  readonly now: number;
  readonly id: string;
}

export interface IdsParams {
  readonly now: number;
  readonly ids: readonly string[];
}

export interface HoldParams {
  readonly now: number;
  readonly ids: readonly string[];
}

export interface QueuesParams {
  readonly now: number;
  readonly queues: readonly string[];
}

export interface PeekParams {
  readonly now: number;
  readonly queue: string;
  readonly limit: number;
}

export interface RetryDeadParams {
  readonly now: number;
  readonly queue: string;
  /** The dead jobs to retry; all of the queue's when null. */
  readonly ids: readonly string[] | null;
}

export interface PromoteParams {
  readonly now: number;
  readonly queue: string;
  /** The delayed jobs to make due now; all of the queue's delayed jobs when null. */
  readonly ids: readonly string[] | null;
}

export interface PurgeParams {
  readonly now: number;
  readonly queue: string;
}

export interface NowParams {
  readonly now: number;
}

export interface GetMetaParams {
  readonly now: number;
  readonly names: readonly string[];
}

export interface SetMetaParams {
  readonly now: number;
  /** A null value deletes the document. */
  readonly entries: Readonly<Record<string, string | null>>;
}

export interface ListMetaParams {
  readonly now: number;
  readonly prefix: string;
}

/** What a store tells its watchers; core wakes blocked leases and `waitFor` with it. */
export type StoreEvent = ChangeEvent | MissedEvent;

/**
 * Events of other processes may have been lost: the store's connection to them was down (a
 * LISTEN or SUBSCRIBE made again), or it read past ones pruned unread. Every watcher looks
 * again: blocked leases ask the store, waitFor reads its job. A store tells it to its own
 * watchers only: it is no change, and never in a log of changes other processes read.
 */
export interface MissedEvent {
  readonly kind: 'missed';
}

/** The events a change makes: what a store shared by processes passes on to the others. */
export type ChangeEvent =
  /** A job may be leasable now in this queue (added, nacked, retried, resumed). */
  | { readonly kind: 'ready'; readonly queue: string }
  /**
   * Something in the queue becomes leasable by itself at `at` (a delay ends, a lease expires),
   * sooner than the store's answers to the leases blocked on it said: every watcher wakes its
   * leases blocked on the queue then. A store sends it only when `at` is earlier than what it
   * told them, so a steady stream of leases and delays sends few.
   */
  | { readonly kind: 'due'; readonly queue: string; readonly at: number }
  /**
   * A job ended (`JobEnd`). `result`: the result (null: none) of a job completed and not kept,
   * so a waitFor already waiting gets it; absent otherwise (a kept result is read with get).
   */
  | {
      readonly kind: 'ended';
      readonly queue: string;
      readonly id: string;
      readonly end: JobEnd;
      readonly result?: Uint8Array | null;
    };

/**
 * What a store can do, declared: core reads these and never asks which backend it has, nor
 * infers anything from which methods a store happens to have.
 */
export interface Capabilities {
  /** What a resolved write survives: nothing (memory), a process crash, or power loss. */
  readonly durable: 'none' | 'process-crash' | 'power-loss';
  /**
   * Who hears the store's events: only the watchers of this process ('process': the store lives
   * in it, and no other process can open it meanwhile), or every process sharing the store.
   */
  readonly events: 'process' | 'shared';
  /**
   * Each call is a round trip over a network: a worker then keeps a second lease on its way
   * while the first is answered, so its handlers never wait a whole round trip for work.
   */
  readonly remote: boolean;
  /** The store wakes blocked leases by name (`Store.sleepers`, present exactly when this is true). */
  readonly sleepers: boolean;
  /**
   * Which jobs' ends an ack tells the watchers of other processes: 'every' job's, or only those of
   * the jobs some process watches (`Store.watchEnd`, present exactly when this is 'watched'). A
   * store whose events cost every writer a shared lock (PostgreSQL's NOTIFY) sends none nobody
   * waits for. Ends other than by an ack may still go to every watcher.
   */
  readonly endedEvents: 'every' | 'watched';
  /** `add`, `addBulk` and `ack` take the caller's transaction (`AddParams.tx`). */
  readonly transactions: boolean;
  /** Most replicas an add can wait for; 0 when the backend has none. */
  readonly maxReplicas: number;
}

/** A blocked lease the store may wake by name: asleep as `id` until `until` at the latest. */
export interface Sleeper {
  readonly id: string;
  readonly until: number;
}

/**
 * The ready event of a store that wakes sleepers. `wake`: how many blocked leases it calls for
 * at most, the jobs that became ready (absent: all of them). `origin`: the add's origin
 * (`SleeperExtension.add`), when the store runs that add before any lease sent after it.
 * `sleepers`: when present, only these sleepers are to wake for it, the others sleep on; a
 * sleeper named here that no longer sleeps passes the wake on (`SleeperExtension.wake`).
 */
export type SleeperEvent =
  | Exclude<StoreEvent, { kind: 'ready' }>
  | {
      readonly kind: 'ready';
      readonly queue: string;
      readonly wake?: number;
      readonly origin?: string;
      readonly sleepers?: readonly string[];
    };

/**
 * How a store shared by many processes (Redis) wakes one blocked lease per job instead of one
 * in every process: core uses it in place of `add`, `lease` and `watch` when
 * `capabilities.sleepers` says so. Stores that hear only their own process never see it.
 */
export interface SleeperExtension {
  /**
   * `Store.add`, sent by a watcher that wakes its own blocked leases as it sends the add (core's
   * hub), named by `origin`: a store that runs the add before any lease sent after it may mark
   * the add's ready events with it, and that watcher skips them.
   */
  add(params: AddParams & { readonly origin: string }): Promise<AddResult>;
  /**
   * `Store.lease` by a caller that sleeps as `sleeper` if it finds nothing: the store may note
   * it and name it in the ready events that call for it.
   */
  lease(params: LeaseParams & { readonly sleeper?: Sleeper }): Promise<LeaseResult>;
  /** `Store.watch`, with the sleepers' fields on the ready events. */
  watch(listener: (event: SleeperEvent) => void): Promise<() => Promise<void>>;
  /** Sends every watcher a ready event for `queue` calling for `count` leases and naming no sleepers: the wakes of sleepers gone. */
  wake(params: { readonly now: number; readonly queue: string; readonly count: number }): Promise<void>;
  /** The sleeper `id` of these queues stopped sleeping before its `until`: name it no more. */
  forget(params: { readonly now: number; readonly id: string; readonly queues: readonly string[] }): Promise<void>;
}

/**
 * Whether the store can take calls now. `reason` is for an operator: it may name a file or a
 * host, so a server logs it and shows it only to whom it trusts.
 */
export type Health = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface Store {
  readonly capabilities: Capabilities;
  /** Present exactly when `capabilities.sleepers`. */
  readonly sleepers?: SleeperExtension;
  /**
   * Present exactly when `capabilities.endedEvents` is 'watched': from when it resolves until the
   * returned function is called, an ack that ends job `id` tells every process (its 'ended'
   * event), however close the ack and the call came. Core's waitFor calls it before its first
   * look at the job, so an ack it misses is one that look sees.
   */
  watchEnd?(params: IdParams): Promise<() => Promise<void>>;
  add(params: AddParams): Promise<AddResult>;
  lease(params: LeaseParams): Promise<LeaseResult>;
  ack(params: AckParams): Promise<readonly AckResult[]>;
  nack(params: NackParams): Promise<NackResult>;
  extend(params: ExtendParams): Promise<ExtendResult>;
  /** The current leases these tokens hold, null for each token that holds none (the same as `lost`). */
  leases(params: TokensParams): Promise<readonly (LeasedRecord | null)[]>;
  /**
   * The current lease of each job by id, null for a job that is not leased now: how a trusted
   * server settles by id (Disque's ACKJOB, NACK, WORKING name a job, not a lease), after it has
   * checked the caller may.
   */
  leasesOf(params: IdsParams): Promise<readonly (LeasedRecord | null)[]>;
  /** Jobs by id, null for the ones not in the store. */
  get(params: IdsParams): Promise<readonly (JobRecord | null)[]>;
  /** The next `limit` waiting jobs in lease order, changing nothing. */
  peek(params: PeekParams): Promise<readonly JobRecord[]>;
  /** A page of the jobs in one state; waiting ones in lease order, so a first page is a peek. */
  list(params: ListParams): Promise<ListResult>;
  counts(params: QueuesParams): Promise<readonly Counts[]>;
  /** Ids of the jobs removed. */
  remove(params: RemoveParams): Promise<readonly string[]>;
  /**
   * Waiting jobs among `ids` leave the line without being handed out (Disque's DEQUEUE): each is
   * delayed by its own `visibilityMs`, as an unsettled lease would keep it out, with no attempt
   * counted. Ids of the jobs held; jobs in any other state are untouched.
   */
  hold(params: HoldParams): Promise<readonly string[]>;
  /** Dead jobs back to waiting with fresh attempts. Returns how many. */
  retryDead(params: RetryDeadParams): Promise<number>;
  /**
   * Delayed jobs of the queue made waiting now, as if their delay had ended at `now` (their place
   * in line is that of a job ready at `now`); a job that is not delayed, or of another queue, is
   * left as it is. Returns how many; sends a ready event when there is one. All of a queue's
   * (`ids` null) may be done in atomic batches (Redis: 1,000 jobs a script), as `retryDead`.
   */
  promote(params: PromoteParams): Promise<number>;
  /** Removes every job of the queue that is not active. Returns how many. */
  purge(params: PurgeParams): Promise<number>;
  /** Each queue's stored settings, `defaultQueueSettings` for a queue with none. */
  settings(params: QueuesParams): Promise<readonly QueueSettings[]>;
  /**
   * Changes some of a queue's settings in one atomic step and answers all of them; the queue is
   * known from then on (`queues`). A resume sends a ready event.
   */
  configure(params: ConfigureParams): Promise<QueueSettings>;
  /**
   * Every queue known to the store, sorted: each that had an add or a `configure`. Read from a
   * set of names the store keeps, never from a scan of its jobs. A store may forget a queue that
   * holds no job and has no stored settings (the embedded stores do on reopen).
   */
  queues(params: NowParams): Promise<readonly string[]>;
  /** Core's own small documents by name (topic definitions), null where there is none. */
  getMeta(params: GetMetaParams): Promise<readonly (string | null)[]>;
  /** Writes every entry in one atomic step. */
  setMeta(params: SetMetaParams): Promise<void>;
  /** Names of the documents that start with `prefix`, sorted. */
  listMeta(params: ListMetaParams): Promise<readonly string[]>;
  /**
   * Makes every answered call durable now: a store that defers syncs (file store `interval` /
   * `none`) syncs; one whose answers are already as durable as it gets resolves at once.
   */
  sync(): Promise<void>;
  /**
   * Whether calls can succeed now, answered without waiting on the backend: a store stopped
   * by a failed write, or cut off from its server, says so here (issue 20: /healthz said 200
   * while every add failed). Never rejects.
   */
  health(): Promise<Health>;
  /** Calls `listener` for every event until the returned function is called. */
  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * What a store without `capabilities.transactions` does with a `tx`: refuses the call, rather
 * than run it outside the caller's transaction as if it were in it.
 */
export function refuseTx(params: { readonly tx?: unknown }): void {
  if (params.tx !== undefined)
    throw new ValidationError('tx', 'this store cannot join a transaction (its capabilities.transactions is false)');
}

/**
 * `cursor` when it is one a page of a listing hands out (`ListParams.cursor`), else a
 * ValidationError naming `field`: a cursor mistyped, cut or taken from another listing (a topic
 * name) failed PostgreSQL's OFFSET as a STORAGE error (a 500 over HTTP), Redis's ZRANGE when
 * past 2^63, and read as the first page on the other stores.
 */
export function checkCursor(cursor: unknown, field: string): string | null {
  if (cursor === null || cursor === undefined) return null;
  if (typeof cursor === 'string' && /^\d{1,15}$/.test(cursor)) return cursor;
  const shown = typeof cursor === 'string' ? JSON.stringify(cursor.slice(0, 50)) : `a ${typeof cursor}`;
  throw new ValidationError(field, `must be the cursor a page answered (or none for the first page), got ${shown}`);
}

// A token's shape lives beside ValidationError, where spool/client (which imports no store) checks it too.
export { formatToken, parseToken } from '../errors.ts';
export type { TokenParts } from '../errors.ts';

/**
 * Refuses the parameters of a store URL that the store does not know: `file:./d?durabilty=none`
 * opened in fsync mode (issue 13), and docs/errors.md promises a misspelt option is an error.
 * A parameter given twice is refused too (refuseRepeated).
 */
export function checkUrlParams(params: URLSearchParams, known: readonly string[]): void {
  for (const name of params.keys()) {
    if (!known.includes(name)) {
      const hint = known.length === 0 ? 'this store takes no parameters' : `known: ${known.join(', ')}`;
      throw new ValidationError(name, `unknown store URL parameter (${hint})`);
    }
  }
  refuseRepeated(params);
}

/**
 * Refuses a store URL parameter given twice: `get` reads the first, so
 * `file:./d?durability=none&durability=fsync` opened a store that never synced. Called before
 * any value is read, so that a repeated parameter is told as such whatever its first value.
 */
export function refuseRepeated(params: URLSearchParams): void {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw new ValidationError(name, 'store URL parameter given twice: give it once');
    seen.add(name);
  }
}
