import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ClosedError, redactUrl, ReplicationError, SpoolError, StorageError } from '../../errors.ts';
import { inScope, refuseTx } from '../contract.ts';
import { Listeners } from '../listeners.ts';
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
  JobState,
  LeaseParams,
  LeaseResult,
  LeasedRecord,
  ListMetaParams,
  ListParams,
  ListResult,
  NackParams,
  NackResult,
  NowParams,
  NewJob,
  PeekParams,
  PromoteParams,
  PurgeParams,
  QueueSettings,
  QueuesParams,
  RemoveParams,
  RetryDeadParams,
  SetMetaParams,
  Sleeper,
  SleeperEvent,
  SleeperExtension,
  Store,
  StoreEvent,
  TokensParams,
} from '../contract.ts';
import { AckBatcher } from './ack-batcher.ts';
import { connected, durability, parseRedisUrl } from './connection.ts';
import type { RedisSettings } from './connection.ts';
import { Subscriber } from './events.ts';
import {
  decodeLeased,
  decodeRecord,
  encodeBackoff,
  encodeNumber,
  encodeSettings,
  decodeSettings,
  groupBy,
  jobId,
  parseJobId,
  tokenOf,
  settingsFields,
  stateLetter,
  tokenJob,
} from './records.ts';
import { LeaseSeals } from './lease-seals.ts';
import { defineScripts } from './scripts.ts';
import type { Arg, Script, ScriptName } from './scripts.ts';

type Client = Redis | Cluster;

const bytes = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const plus = Buffer.from('+');
/** Jobs one purge or retry-all script handles: a few milliseconds of Redis, so other clients never wait long. */
const sweepBatch = 1000;

/**
 * The Store contract on Redis (`redis://`, `rediss://`, `redis+cluster://`): every state change
 * is one Lua script on one queue's keys (one hash tag, so one Cluster slot), due work is done
 * lazily by whichever call looks at a queue, and events travel by pub/sub.
 */
export class RedisStore implements Store {
  readonly capabilities: Capabilities;
  readonly #settings: RedisSettings;
  readonly #client: Client;
  readonly #scripts: Record<ScriptName, Script>;
  readonly #channel: string;
  readonly #listeners = new Listeners<SleeperEvent>();
  /** Queues this store has put in the set of queue names (`#know`). */
  readonly #known = new Set<string>();
  #subscriber: Promise<Subscriber> | null = null;
  /** A second connection for adds that WAIT for replicas: WAIT holds up its connection. */
  #replicated: { client: Client; scripts: Record<ScriptName, Script> } | null = null;
  readonly #acks = new AckBatcher(
    async (queue, now, args) =>
      (await this.#scripts.ack([this.#base(queue)], [now, this.#channel, queue, ...args])) as number[],
  );
  /** Add calls are named `<random><n>` (add.lua's call key): unique across processes and restarts. */
  readonly #callPrefix = randomBytes(9).toString('base64url');
  #calls = 0;
  /** How long Redis remembers an add call: longer than the call can be tried for. */
  readonly #callMemoryMs: number;
  /** Seals lease tokens (lease-seals.ts) with the key of the prefix, shared by every process. */
  #seals: LeaseSeals;
  #tokenKey: string;
  /** Aborted by close(): ends the waits for a connection to come back (#comeback). */
  readonly #closing = new AbortController();
  /** Set while calls wait for the connection to come back (#comeback). */
  #outage: Promise<void> | null = null;
  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  private constructor(settings: RedisSettings, client: Client, durable: Capabilities['durable'], tokenKey: string) {
    this.#settings = settings;
    this.#client = client;
    this.#tokenKey = tokenKey;
    this.#seals = new LeaseSeals(tokenKey);
    // A server that comes back without its data (no persistence, a replica that never had the
    // key) has lost `<prefix>:token-key`; the next process to open then set a key of its own, and
    // each side called the other's tokens lost: a lease through one server and its ack through
    // another were refused until the older processes restarted. On every reconnect this process
    // puts its key back, or takes the one another process put there first.
    client.on('ready', () => void this.#keepTokenKey());
    // The same server may have lost the set of queue names: each queue's next add names it again,
    // or the queues added to since were missing from `queues()` (spool queues, the dashboard).
    client.on('ready', () => this.#known.clear());
    this.#callMemoryMs = 3 * settings.timeoutMs + settings.replicateTimeoutMs + 1000;
    this.#scripts = defineScripts(client);
    this.#channel = `${settings.prefix}:events`;
    this.capabilities = Object.freeze({
      durable,
      events: 'shared',
      remote: true,
      sleepers: true,
      endedEvents: 'every',
      transactions: false,
      // Replicas may join at any time; WAIT tells whether enough of them have the job. On a
      // Cluster WAIT would go to whichever node ioredis picks, not the queue's master.
      maxReplicas: settings.cluster ? 0 : Infinity,
    });
  }

  /** Connects to `url`: `redis://[user:pass@]host:port[/db][?prefix=spool&replicateTimeout=1000]`. */
  static async open(url: string): Promise<RedisStore> {
    const settings = parseRedisUrl(url);
    const client = await connected(settings).catch((error: unknown) => {
      throw new StorageError(`cannot connect to ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
    });
    try {
      return new RedisStore(settings, client, await durability(client), await tokenKey(client, settings.prefix));
    } catch (error) {
      client.disconnect();
      throw storageError(error);
    }
  }

  async #keepTokenKey(): Promise<void> {
    try {
      const key = await tokenKey(this.#client, this.#settings.prefix, this.#tokenKey);
      if (key === this.#tokenKey) return;
      this.#tokenKey = key;
      this.#seals = new LeaseSeals(key);
    } catch {
      // The connection went again: the next 'ready' tries again.
    }
  }

  #base(queue: string): string {
    return `{${this.#settings.prefix}:${queue}}`;
  }

  /**
   * One add wakes one blocked lease, not one in every process: a lease that finds nothing is
   * noted in the queue as a sleeper (lease.lua), and an add names the sleepers it calls for in
   * its ready event (add.lua). An add sent with an origin marks its events with it.
   */
  readonly sleepers: SleeperExtension = {
    add: (params) => this.#add(params, params.origin),
    lease: (params) => this.#lease(params, params.sleeper),
    watch: (listener) => this.#watch(listener),
    wake: async ({ queue, count }) => {
      await this.#runIdempotent(() => this.#client.publish(this.#channel, `ready\t${queue}\t${count}`));
    },
    forget: async ({ id, queues }) => {
      await this.#runIdempotent(() =>
        Promise.all(queues.map((queue) => this.#client.zrem(`${this.#base(queue)}:s`, id))),
      );
    },
  };

  add(params: AddParams): Promise<AddResult> {
    return this.#add(params, '');
  }

  #add(params: AddParams, origin: string): Promise<AddResult> {
    // The same id on every try of this call: add.lua answers a second run of it from its first.
    const call = `${this.#callPrefix}${++this.#calls}`;
    return this.#runIdempotent(async () => {
      refuseTx(params);
      // Sent, not awaited: the add must go out now, with nothing between it and a lease this
      // Spool's add woke (ChangeHub.sent), which the connection then runs right behind it.
      const known = this.#know([...new Set(params.jobs.map((j) => j.queue))]);
      // Held from here on: when the add fails first (the connection is down), the add's error is
      // the one reported, and this one must not reject unheld, which would end the process.
      known.catch(() => {});
      const copies = params.replicate ?? 1;
      const target = copies > 1 ? await this.#replicatedClient() : { client: this.#client, scripts: this.#scripts };
      // One call for the whole batch; a Cluster keeps each queue in its own slot, so there each
      // queue's jobs are one call (atomic per queue).
      const groups = this.#settings.cluster
        ? [...new Set(params.jobs.map((j) => j.queue))].map((q) => params.jobs.filter((j) => j.queue === q))
        : [params.jobs];
      const ids: string[] = [];
      const created: boolean[] = [];
      const order = new Map<NewJob, number>(params.jobs.map((job, i) => [job, i]));
      // Only the one connection to one server runs this add before any lease sent after it.
      const marked = copies === 1 && !this.#settings.cluster ? origin : '';
      for (const jobs of groups) {
        const reply = await this.#addGroup(target.scripts.add, params, jobs, marked, call);
        if (!reply.ok) return known.then(() => reply);
        jobs.forEach((job, k) => {
          const i = order.get(job) as number;
          ids[i] = reply.ids[k] as string;
          created[i] = reply.created[k] as boolean;
        });
      }
      await known;
      if (copies > 1) {
        const timeoutMs = this.#settings.replicateTimeoutMs;
        const confirmed = (await target.client.call('WAIT', copies - 1, timeoutMs)) as number;
        if (confirmed < copies - 1) throw new ReplicationError(ids, copies, confirmed + 1, timeoutMs);
      }
      return { ok: true, ids, created };
    });
  }

  async #addGroup(
    script: Script,
    params: AddParams,
    jobs: readonly NewJob[],
    origin: string,
    call: string,
  ): Promise<AddResult> {
    const queues = [...new Set(jobs.map((j) => j.queue))];
    const args: Arg[] = [params.now, this.#channel, origin, ...queues];
    let previous = '';
    for (const job of jobs) {
      const { priority, availableAt, visibilityMs } = job;
      const settings = `${queues.indexOf(job.queue) + 1}|${priority}|${encodeNumber(job.maxAttempts)}|${availableAt}|${
        job.expiresAt ?? ''
      }|${visibilityMs}|${encodeBackoff(job.backoff)}|${job.key ?? ''}`;
      args.push(settings === previous ? '' : settings, bytes(job.payload));
      previous = settings;
    }
    args.push(this.#callMemoryMs);
    const keys = queues.map((q) => this.#base(q));
    keys.push(`${keys[0] as string}:call:${call}`);
    const reply = (await script(keys, args)) as number[];
    if (reply[0] === 0) {
      return { ok: false, fullQueue: queues[(reply[1] as number) - 1] as string, maxLength: reply[2] as number };
    }
    const ids: string[] = [];
    const created: boolean[] = [];
    jobs.forEach((job, k) => {
      ids.push(jobId(job.queue, String(reply[1 + 2 * k])));
      created.push(reply[2 + 2 * k] === 1);
    });
    return { ok: true, ids, created };
  }

  lease(params: LeaseParams): Promise<LeaseResult> {
    return this.#lease(params, undefined);
  }

  #lease({ now, queues, max, visibilityMs }: LeaseParams, sleeper: Sleeper | undefined): Promise<LeaseResult> {
    return this.#run(async () => {
      const jobs: LeasedRecord[] = [];
      let nextAt: number | null = null;
      for (const queue of queues) {
        if (jobs.length >= max) break;
        const acks = this.#acks.take(queue);
        const args: Arg[] = [now, this.#channel, queue, max - jobs.length, visibilityMs ?? -1];
        args.push(sleeper?.id ?? '', sleeper?.until ?? '');
        args.push(...(acks === undefined ? [''] : [acks.now, ...acks.args()]));
        let reply: [number | null, number, ...unknown[]];
        try {
          reply = (await this.#scripts.lease([this.#base(queue)], args)) as typeof reply;
        } catch (error) {
          acks?.fail(error);
          throw error;
        }
        const [next, acked, ...rest] = reply;
        acks?.settle(rest.slice(0, acked));
        if (next !== null && (nextAt === null || next < nextAt)) nextAt = next;
        for (let i = acked; i < rest.length; i++) jobs.push(decodeLeased(queue, rest[i], this.#seals));
      }
      return { jobs, nextAt };
    });
  }

  ack({ now, items, scope, tx }: AckParams): Promise<readonly AckResult[]> {
    return this.#run(async () => {
      refuseTx({ tx });
      const out: AckResult[] = items.map(() => null);
      const byQueue = groupBy(items.map((item, i) => ({ i, item, job: tokenJob(item.token, this.#seals) })));
      await Promise.all(
        [...byQueue].map(async ([queue, entries]) => {
          // A job's queue is part of its id, which the token's seal vouches for, and never
          // changes: checked here, the scope holds as in the script.
          if (scope !== undefined && !inScope(scope, queue)) return;
          const acks = entries.map(({ item, job }) => ({
            seq: job.seq,
            attempt: job.attempt,
            result: item.result === null ? ('' as const) : Buffer.concat([plus, item.result]),
          }));
          const ok = await this.#acks.ack(queue, now, acks);
          entries.forEach(({ i }, k) => (out[i] = ok[k] === true ? queue : null));
        }),
      );
      return out;
    });
  }

  nack({ now, token, delayMs, error, kind }: NackParams): Promise<NackResult> {
    return this.#run(async () => {
      const job = tokenJob(token, this.#seals);
      if (job === null) return { outcome: 'lost' };
      const outcome = (
        (await this.#scripts.nack(
          [this.#base(job.queue)],
          [now, this.#channel, job.queue, job.seq, job.attempt, delayMs, error === null ? '' : `+${error}`, kind],
        )) as Buffer
      ).toString() as NackResult['outcome'];
      return { outcome };
    });
  }

  extend({ now, token, ms }: ExtendParams): Promise<ExtendResult> {
    return this.#runIdempotent(async () => {
      const job = tokenJob(token, this.#seals);
      if (job === null) return { outcome: 'lost' };
      const until = (await this.#scripts.extend(
        [this.#base(job.queue)],
        [now, this.#channel, job.queue, job.seq, job.attempt, ms],
      )) as number | null;
      return until === null ? { outcome: 'lost' } : { outcome: 'ok', leaseUntil: until };
    });
  }

  leases({ now, tokens }: TokensParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#runIdempotent(async () => {
      const jobs = tokens.map((token) => tokenJob(token, this.#seals));
      const ids = jobs.map((job) => (job === null ? '' : jobId(job.queue, job.seq)));
      const records = await this.#get(ids, now);
      return records.map((record, i) => {
        const attempt = jobs[i]?.attempt;
        const current = record?.state === 'active' && record.attempts === attempt && (record.leaseUntil ?? 0) > now;
        return current
          ? { ...record, state: 'active', token: tokens[i] as string, leaseUntil: record.leaseUntil as number }
          : null;
      });
    });
  }

  leasesOf({ now, ids }: IdsParams): Promise<readonly (LeasedRecord | null)[]> {
    return this.#runIdempotent(async () =>
      (await this.#get(ids, now)).map((record) =>
        record?.state === 'active' && (record.leaseUntil ?? 0) > now
          ? {
              ...record,
              state: 'active',
              token: tokenOf(this.#seals, record.queue, record.id, record.attempts),
              leaseUntil: record.leaseUntil as number,
            }
          : null,
      ),
    );
  }

  get({ now, ids }: IdsParams): Promise<readonly (JobRecord | null)[]> {
    return this.#runIdempotent(() => this.#get(ids, now));
  }

  async #get(ids: readonly string[], now: number): Promise<(JobRecord | null)[]> {
    const out: (JobRecord | null)[] = ids.map(() => null);
    const byQueue = groupBy(ids.map((id, i) => ({ i, job: parseJobId(id) })));
    await Promise.all(
      [...byQueue].map(async ([queue, entries]) => {
        const reply = (await this.#scripts.get(
          [this.#base(queue)],
          [now, this.#channel, queue, ...entries.map((e) => e.job.seq)],
        )) as unknown[];
        entries.forEach(({ i }, k) => (out[i] = decodeRecord(queue, reply[k])));
      }),
    );
    return out;
  }

  peek({ now, queue, limit }: PeekParams): Promise<readonly JobRecord[]> {
    return this.#runIdempotent(async () => (await this.#list(queue, 'waiting', 0, limit, now)).jobs);
  }

  list({ now, queue, state, cursor, limit }: ListParams): Promise<ListResult> {
    return this.#runIdempotent(async () => {
      const from = cursor !== null && /^\d+$/.test(cursor) ? Number(cursor) : 0;
      const page = await this.#list(queue, state, from, limit, now);
      return { jobs: page.jobs, cursor: page.more ? String(from + limit) : null };
    });
  }

  async #list(
    queue: string,
    state: JobState,
    offset: number,
    limit: number,
    now: number,
  ): Promise<{ jobs: JobRecord[]; more: boolean }> {
    const [more, ...records] = (await this.#scripts.list(
      [this.#base(queue)],
      [now, this.#channel, queue, stateLetter[state], offset, limit],
    )) as [number, ...unknown[]];
    return { jobs: records.map((r) => decodeRecord(queue, r) as JobRecord), more: more === 1 };
  }

  counts({ now, queues }: QueuesParams): Promise<readonly Counts[]> {
    return this.#runIdempotent(() =>
      Promise.all(
        queues.map(async (queue) => {
          const [waiting, delayed, active, dead, completed, expired, paused] = (await this.#scripts.counts(
            [this.#base(queue)],
            [now, this.#channel, queue],
          )) as number[];
          return { waiting, delayed, active, dead, completed, expired, paused: paused === 1 } as Counts;
        }),
      ),
    );
  }

  remove({ now, ids, states }: RemoveParams): Promise<readonly string[]> {
    return this.#run(async () => {
      const letters = states === null ? '' : states.map((s) => stateLetter[s]).join('');
      const removed = new Set<string>();
      const byQueue = groupBy(ids.map((id, i) => ({ i, job: parseJobId(id) })));
      await Promise.all(
        [...byQueue].map(async ([queue, entries]) => {
          const reply = (await this.#scripts.remove(
            [this.#base(queue)],
            [now, this.#channel, queue, letters, ...entries.map((e) => e.job.seq)],
          )) as number[];
          for (const seq of reply) removed.add(jobId(queue, seq));
        }),
      );
      return ids.filter((id) => removed.has(id));
    });
  }

  hold({ now, ids }: HoldParams): Promise<readonly string[]> {
    return this.#run(async () => {
      const held = new Set<string>();
      const byQueue = groupBy(ids.map((id, i) => ({ i, job: parseJobId(id) })));
      await Promise.all(
        [...byQueue].map(async ([queue, entries]) => {
          const reply = (await this.#scripts.hold(
            [this.#base(queue)],
            [now, this.#channel, queue, ...entries.map((e) => e.job.seq)],
          )) as number[];
          for (const seq of reply) held.add(jobId(queue, seq));
        }),
      );
      // Once each, as the other stores answer: the script held a repeated id the first time only.
      return [...new Set(ids)].filter((id) => held.has(id));
    });
  }

  retryDead({ now, queue, ids }: RetryDeadParams): Promise<number> {
    return this.#requeue(now, queue, 'x', ids);
  }

  promote({ now, queue, ids }: PromoteParams): Promise<number> {
    return this.#requeue(now, queue, 'd', ids);
  }

  /** The jobs `ids` of `queue`, or all, that are in `state` (dead 'x', delayed 'd') back to waiting now. */
  #requeue(now: number, queue: string, state: 'x' | 'd', ids: readonly string[] | null): Promise<number> {
    return this.#run(async () => {
      const head = [now, this.#channel, queue, state, sweepBatch];
      const send = async (seqs: readonly string[]) =>
        (await this.#scripts.requeue([this.#base(queue)], [...head, ...seqs])) as number;
      if (ids === null) return this.#inBatches(() => send([]));
      const seqs = ids.map(parseJobId).flatMap((job) => (job?.queue === queue ? [job.seq] : []));
      return seqs.length === 0 ? 0 : send(seqs);
    });
  }

  purge({ now, queue }: PurgeParams): Promise<number> {
    return this.#run(() =>
      this.#inBatches(
        async () => (await this.#scripts.purge([this.#base(queue)], [now, this.#channel, queue, sweepBatch])) as number,
      ),
    );
  }

  /** Calls `batch` until it does fewer than `sweepBatch` jobs; resolves with how many in all. */
  async #inBatches(batch: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await batch();
      total += n;
      if (n < sweepBatch) return total;
    }
  }

  settings({ queues }: QueuesParams): Promise<readonly QueueSettings[]> {
    return this.#runIdempotent(() =>
      Promise.all(
        queues.map(async (queue) =>
          decodeSettings(await this.#client.hmget(`${this.#base(queue)}:m`, ...settingsFields)),
        ),
      ),
    );
  }

  configure({ now, queue, changes }: ConfigureParams): Promise<QueueSettings> {
    return this.#runIdempotent(async () => {
      await this.#know([queue]);
      const stored = (await this.#scripts.configure(
        [this.#base(queue)],
        [now, this.#channel, queue, ...encodeSettings(changes)],
      )) as unknown[];
      return decodeSettings(stored);
    });
  }

  queues(_params: NowParams): Promise<readonly string[]> {
    return this.#runIdempotent(async () => (await this.#client.smembers(this.#queuesKey)).sort());
  }

  get #queuesKey(): string {
    return `${this.#settings.prefix}:queues`;
  }

  /**
   * Puts queues in the store's set of names (`queues`), once per queue and process: a key of its
   * own, outside the queues' hash tags, so it is a command of its own and not part of a script.
   */
  async #know(queues: readonly string[]): Promise<void> {
    const fresh = queues.filter((q) => !this.#known.has(q));
    if (fresh.length === 0) return;
    await this.#client.sadd(this.#queuesKey, ...fresh);
    for (const q of fresh) this.#known.add(q);
  }

  getMeta({ names }: GetMetaParams): Promise<readonly (string | null)[]> {
    return this.#runIdempotent(async () => (names.length === 0 ? [] : this.#client.hmget(this.#metaKey, ...names)));
  }

  setMeta({ entries }: SetMetaParams): Promise<void> {
    return this.#runIdempotent(async () => {
      const args = Object.entries(entries).flatMap(([name, value]) => [name, value === null ? '' : `+${value}`]);
      if (args.length > 0) await this.#scripts['set-meta']([this.#metaKey], [0, this.#channel, ...args]);
    });
  }

  listMeta({ prefix }: ListMetaParams): Promise<readonly string[]> {
    return this.#runIdempotent(async () =>
      (await this.#client.hkeys(this.#metaKey)).filter((name) => name.startsWith(prefix)).sort(),
    );
  }

  get #metaKey(): string {
    return `${this.#settings.prefix}:meta`;
  }

  /** Every answered call is as durable as the server's settings make it (`capabilities.durable`). */
  sync(): Promise<void> {
    return this.#run(() => Promise.resolve());
  }

  watch(listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return this.#watch(listener);
  }

  #watch(listener: (event: SleeperEvent) => void): Promise<() => Promise<void>> {
    return this.#run(async () => {
      const starting = (this.#subscriber ??= Subscriber.start(
        this.#settings.connect(),
        this.#channel,
        (event) => this.#listeners.emit(event),
        // Subscribed again after the connection was down: what was published meanwhile is lost.
        () => this.#listeners.emit({ kind: 'missed' }),
      ));
      try {
        await starting;
      } catch (error) {
        // Kept, a failed start failed every later watch of this store, Redis back or not: a
        // first SUBSCRIBE cut off (or Redis down then) left Spool.create failing for good.
        if (this.#subscriber === starting) this.#subscriber = null;
        throw error;
      }
      return this.#listeners.add(listener);
    });
  }

  health(): Promise<Health> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'closed' });
    // ioredis' own view of its connection: no command is sent, so an outage answers at once.
    const { status } = this.#client;
    return Promise.resolve(status === 'ready' ? { ok: true } : { ok: false, reason: `redis connection ${status}` });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing.abort();
    this.#listeners.clear();
    const clients = [this.#client, this.#replicated?.client].filter((c) => c !== undefined);
    await Promise.all([
      this.#subscriber?.then((s) => s.stop()).catch(() => {}),
      ...clients.map((c) => c.quit().catch(() => c.disconnect())),
    ]);
  }

  async #replicatedClient(): Promise<{ client: Client; scripts: Record<ScriptName, Script> }> {
    if (this.#replicated === null) {
      const client = await connected(this.#settings, this.#settings.replicateTimeoutMs);
      this.#replicated = { client, scripts: defineScripts(client) };
    }
    return this.#replicated;
  }

  /** Runs one operation; a closed store is a ClosedError, a Redis failure a StorageError. */
  #run<T>(operation: () => Promise<T>): Promise<T> {
    return this.#tried(false, operation);
  }

  /** Runs an operation that does no harm run twice (reads; adds, by their call id). */
  #runIdempotent<T>(operation: () => Promise<T>): Promise<T> {
    return this.#tried(true, operation);
  }

  /**
   * While the connection is down, an operation is tried again once it is back, for `timeout` ms
   * at most: any operation that was never sent, and one cut off after it was sent (Redis may
   * have run it) only when it is `idempotent`.
   */
  async #tried<T>(idempotent: boolean, operation: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClosedError('store');
    // performance.now(), which no step of the system clock moves: by Date.now() a clock stepped
    // back an hour during an outage kept a call of `timeout=200` waiting an hour for Redis.
    const deadline = performance.now() + this.#settings.timeoutMs;
    for (;;) {
      try {
        return await operation();
      } catch (error) {
        const cause = connectionFailure(error);
        const retry = cause === 'unsent' || (cause === 'cut' && idempotent);
        if (!retry || this.#closed || performance.now() >= deadline)
          throw storageError(error, cause, this.#settings.timeoutMs);
        await this.#reconnected(deadline);
      }
    }
  }

  /** Resolves once the connection is ready (at once when it is, after a short pause), or at `deadline` (performance.now()). */
  #reconnected(deadline: number): Promise<void> {
    const left = Math.max(0, deadline - performance.now());
    if (this.#client.status === 'ready')
      return new Promise((resolve) => setTimeout(resolve, Math.min(left, retryPauseMs)));
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, left);
      void this.#comeback().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Resolves once the connection is ready again, or the store closes: a close during an outage
   * ends the waits at once (they held a spool serve stopped with Redis down for up to `timeout`
   * after the store said it was closed). One promise for all the calls of an outage: each
   * listening to the client and the signal itself passed Node's 10 and printed a
   * MaxListenersExceededWarning.
   */
  #comeback(): Promise<void> {
    const client = this.#client;
    const closing = this.#closing.signal;
    this.#outage ??= new Promise((resolve) => {
      const done = (): void => {
        client.off('ready', done);
        closing.removeEventListener('abort', done);
        this.#outage = null;
        resolve();
      };
      client.once('ready', done);
      closing.addEventListener('abort', done, { once: true });
    });
    return this.#outage;
  }
}

/** Between tries on a connection that looks ready: a command timed out, or another connection failed. */
const retryPauseMs = 50;

type Failure = 'unsent' | 'cut';

/**
 * How a command failed for want of a connection: 'unsent' when ioredis refused to send it (no
 * connection: the offline queue is off; on a Cluster, none is ready) or a Cluster refused to run
 * it (CLUSTERDOWN: a master is lost), 'cut' when the connection went or the server did not
 * answer in time after it was sent; null for anything else (an error reply from Redis).
 */
function connectionFailure(error: unknown): Failure | null {
  if (!(error instanceof Error) || error instanceof SpoolError) return null;
  if (
    error.message.startsWith("Stream isn't writeable") ||
    error.message.startsWith("Cluster isn't ready") ||
    error.message.startsWith('CLUSTERDOWN')
  )
    return 'unsent';
  const cut =
    error.name === 'MaxRetriesPerRequestError' ||
    error.message === 'Connection is closed.' ||
    error.message === 'Command timed out';
  return cut ? 'cut' : null;
}

/** The prefix's key for lease tokens: made by the first store to open, read by every later one. */
async function tokenKey(
  client: Client,
  prefix: string,
  proposed = randomBytes(16).toString('base64url'),
): Promise<string> {
  const name = `${prefix}:token-key`;
  await client.set(name, proposed, 'NX');
  const key = await client.get(name);
  if (key === null) throw new StorageError(`redis lost ${name} as soon as it was set`);
  return key;
}

function storageError(error: unknown, failure: Failure | null = null, timeoutMs = 0): Error {
  if (error instanceof SpoolError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const text =
    failure === 'unsent'
      ? `redis: no connection to the server for ${timeoutMs} ms (nothing of this call was applied)`
      : failure === 'cut'
        ? `redis: the connection failed during the call, which may have been applied: ${message}`
        : message.startsWith('OOM')
          ? `redis refused the write: it is at its maxmemory and may not evict (nothing of this call was applied): ${message}`
          : `redis: ${message}`;
  return new StorageError(text, { cause: error });
}
