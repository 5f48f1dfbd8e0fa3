// `spool/client`: a remote spool over HTTP with the local API's shape — queues, lease with
// long-poll, leased jobs settled by token, a worker — so code moves between a local and a
// remote spool without changes to its logic.
import { consume } from '../core/consume.ts';
import { parseDuration } from '../core/duration.ts';
import { systemClock } from '../core/clock.ts';
import { pause, retryPauseMs, Worker, workerSettings } from '../core/worker.ts';
import {
  checkKeys,
  checkToken,
  JobFailedError,
  positiveInteger,
  redactUrl,
  TimeoutError,
  ValidationError,
} from '../errors.ts';
import type {
  AckAnswer,
  Counts,
  Duration,
  JobInfo,
  JobOptions,
  JobState,
  PublishOptions,
  QueueInfo,
  QueueSettings,
  StoredQueueOptions,
  SubscriberOptions,
  SubscriberStatus,
  TopicInfo,
  WorkerProcess,
} from '../index.ts';
import { heartbeatOf } from './heartbeat.ts';
import { call } from './http.ts';
import type { Transport } from './http.ts';
import { RemoteLeasedJob } from './leased.ts';
import type { LeasedJson } from './leased.ts';
import { remoteSource } from './worker.ts';
import type { RemoteHandler, RemoteProcessOptions, RemoteWorker } from './worker.ts';

export { RemoteLeasedJob };
export type { RemoteHandler, RemoteProcessOptions, RemoteWorker };
export type { RemoteWorkerEvents } from './worker.ts';

export interface ConnectOptions {
  /** Bearer token, when the server has tokens. */
  token?: string;
  /**
   * How long a request may go without its whole answer before it fails with TimeoutError (a
   * long-poll: past the time it asks the server to wait). Default 30s; 'forever' waits as long as
   * the connection lasts.
   */
  timeout?: Duration;
}

/** ConnectOptions.timeout's default: far past any answer a working server takes to give. */
const defaultTimeoutMs = 30_000;

/** A queue's settings as the server writes them (queue-settings.ts): ms, and null for no limit. */
interface SettingsJson {
  maxLength: number | null;
  maxAttempts: number | null;
  backoff: { type: 'fixed' | 'exponential'; delay: number; maxDelay: number; jitter: number };
  visibility: number;
  ttl: number | null;
  keepCompleted: KeepJson;
  keepDead: KeepJson;
  paused: boolean;
}
type KeepJson = { count: number | null; age: number | null };

const keepOf = ({ count, age }: KeepJson) => ({ count: count ?? Infinity, ageMs: age ?? Infinity });

function settingsOf(json: SettingsJson): QueueSettings {
  const { backoff } = json;
  return {
    maxLength: json.maxLength,
    maxAttempts: json.maxAttempts ?? Infinity,
    backoff: { kind: backoff.type, delayMs: backoff.delay, maxDelayMs: backoff.maxDelay, jitter: backoff.jitter },
    visibilityMs: json.visibility,
    ttlMs: json.ttl,
    keepCompleted: keepOf(json.keepCompleted),
    keepDead: keepOf(json.keepDead),
    paused: json.paused,
  };
}

export interface RemoteConsumeOptions {
  /** Jobs leased per request; those not yet handed out are released when the loop ends. Default 1. */
  prefetch?: number;
  visibility?: Duration;
  /** Ends the loop. */
  signal?: AbortSignal;
}

/** The most jobs the server's list and peek routes answer at once (their `limit` and `n`). */
const serverPage = 1000;

export interface RemotePageOptions {
  limit?: number;
  cursor?: string | null;
}

/** A page of jobs, as a local queue's `list` answers it. */
export interface RemotePage<T> {
  readonly jobs: JobInfo<T>[];
  /** Pass to get the next page; null at the end. */
  readonly cursor: string | null;
}

/** The answer of GET /v1/queues/:queue/jobs/:id/result. */
type ResultJson<R> =
  | { state: 'completed'; result: R }
  | { state: 'dead'; errors: string[] }
  | { state: 'waiting' | 'delayed' | 'active'; waitedMs: number; leftMs: number | null };

export interface RemoteLeaseOptions {
  queues: string | readonly string[];
  max?: number;
  visibility?: Duration;
  wait?: Duration;
  signal?: AbortSignal;
}

/**
 * The longest a long-poll request asks the server to wait: under Node fetch's own 300 s for an
 * answer's headers (undici's headersTimeout), past which fetch gives up on a server that is only
 * waiting as asked (UND_ERR_HEADERS_TIMEOUT): every time with a --max-wait over 5m, and by a race
 * at the default 5m.
 */
const longPollMs = 270_000;

/** A long-poll's wait, at most `longPollMs` ('forever' is that long); the server cuts it to its --max-wait too. */
const longPoll = (wait: Duration): number => Math.min(parseDuration(wait, 'wait', { forever: true }), longPollMs);

/** Most tokens the server takes in one batch ack. */
const maxAckBatch = 1000;

/** Opens nothing: each call is one HTTP request (fetch keeps connections alive). */
export function connect(url: string, options: ConnectOptions = {}): SpoolClient {
  checkKeys(options, ['token', 'timeout'], 'options');
  const base = URL.canParse(url) ? new URL(url) : null;
  if (base?.protocol !== 'http:' && base?.protocol !== 'https:')
    throw new ValidationError('url', `must be an http(s) URL, got ${JSON.stringify(redactUrl(url))}`);
  // Each was dropped without a word: a password in the URL was never sent, as if it were.
  if (base.username !== '' || base.password !== '')
    throw new ValidationError('url', 'takes no credentials: give the bearer token as connect(url, { token })');
  if (base.search !== '' || base.hash !== '')
    throw new ValidationError('url', 'must have no query or fragment (they were dropped, not sent)');
  const headers: Record<string, string> =
    options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  const timeoutMs =
    options.timeout === undefined
      ? defaultTimeoutMs
      : parseDuration(options.timeout, 'options.timeout', { forever: true, positive: true });
  return new SpoolClient({ base: base.origin + base.pathname.replace(/\/$/, ''), headers, timeoutMs });
}

export class SpoolClient {
  constructor(private readonly transport: Transport) {}

  queue<T = unknown, R = unknown>(name: string): RemoteQueue<T, R> {
    return new RemoteQueue<T, R>(this.transport, name);
  }

  topic<T = unknown>(name: string): RemoteTopic<T> {
    return new RemoteTopic<T>(this.transport, name);
  }

  /** Leases from `queues` left to right, long-polling up to `wait`. */
  async lease<T = unknown, R = unknown>(options: RemoteLeaseOptions): Promise<RemoteLeasedJob<T, R>[]> {
    const { queues, signal, wait, ...rest } = options;
    const body = {
      queues: typeof queues === 'string' ? [queues] : queues,
      ...rest,
      ...(wait === undefined ? {} : { wait: longPoll(wait) }),
    };
    const { jobs } = await call<{ jobs: LeasedJson<T>[] }>(this.transport, 'POST', '/v1/lease', body, {
      signal,
      waitMs: body.wait ?? 0,
    });
    return jobs.map((job) => new RemoteLeasedJob<T, R>(job, this.transport));
  }

  /**
   * Acks the leases these tokens hold, as a consumer that kept only tokens (a script) does: one
   * request per 1000 tokens. A token whose lease is over, or that is not this caller's, is named
   * in `lost` and changes nothing. A malformed token is a ValidationError before any request.
   */
  async ack(tokens: readonly string[]): Promise<AckAnswer> {
    // As the server checks them, but all before the first request: a malformed token past the
    // first 1000 was refused only after the acks of the first request were done.
    tokens.forEach((token, i) => checkToken(token, 'tokens', i));
    const answer: { acked: number; lost: string[] } = { acked: 0, lost: [] };
    for (let at = 0; at < tokens.length; at += maxAckBatch) {
      const part = await call<AckAnswer>(this.transport, 'POST', '/v1/ack/batch', {
        tokens: tokens.slice(at, at + maxAckBatch),
      });
      answer.acked += part.acked;
      answer.lost.push(...part.lost);
    }
    return answer;
  }

  /** Names of every topic the token may see, sorted. */
  async topics(): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
      const page = await call<{ topics: string[]; cursor?: string | null }>(
        this.transport,
        'GET',
        `/v1/topics${query}`,
      );
      names.push(...page.topics);
      // A server from before pages sends no cursor: its one answer is the whole list.
      cursor = page.cursor ?? null;
    } while (cursor !== null);
    return names;
  }

  /**
   * Every queue the store knows that the token may see, with its counts and its stored settings,
   * as the local `spool.queues()` answers them.
   */
  async queues(): Promise<QueueInfo[]> {
    const { queues } = await call<{ queues: { name: string; counts: Counts; settings: SettingsJson }[] }>(
      this.transport,
      'GET',
      '/v1/queues',
    );
    return queues.map(({ name, counts, settings }) => ({ name, counts, settings: settingsOf(settings) }));
  }

  /**
   * Every process running workers on the server's store, from their heartbeats (local ones and
   * those beating over HTTP), as `spool.workers()` reads them; only the workers of queues the
   * token may see.
   */
  async workers(): Promise<WorkerProcess[]> {
    return (await call<{ processes: WorkerProcess[] }>(this.transport, 'GET', '/v1/workers')).processes;
  }

  async healthy(): Promise<boolean> {
    return (await call<{ ok: boolean }>(this.transport, 'GET', '/healthz')).ok;
  }
}

export class RemoteQueue<T = unknown, R = unknown> {
  readonly #path: string;

  constructor(
    private readonly transport: Transport,
    readonly name: string,
  ) {
    this.#path = `/v1/queues/${encodeURIComponent(name)}`;
  }

  async add(data: T, options?: JobOptions): Promise<string> {
    const body = options === undefined ? { data } : { data, options };
    return (await call<{ id: string }>(this.transport, 'POST', `${this.#path}/jobs`, body)).id;
  }

  async addBulk(items: readonly { data: T; options?: JobOptions }[]): Promise<string[]> {
    if (items.length === 0) return [];
    return (await call<{ ids: string[] }>(this.transport, 'POST', `${this.#path}/jobs/batch`, { jobs: items })).ids;
  }

  async get(id: string): Promise<JobInfo<T> | null> {
    try {
      return await call<JobInfo<T>>(this.transport, 'GET', `${this.#path}/jobs/${encodeURIComponent(id)}`);
    } catch (error) {
      if ((error as { code?: string }).code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  async remove(id: string): Promise<boolean> {
    const path = `${this.#path}/jobs/${encodeURIComponent(id)}`;
    return (await call<{ removed: boolean }>(this.transport, 'DELETE', path)).removed;
  }

  /** Removes the job if it has not started (waiting or delayed). True if it did. */
  async cancel(id: string): Promise<boolean> {
    const path = `${this.#path}/jobs/${encodeURIComponent(id)}/cancel`;
    return (await call<{ cancelled: boolean }>(this.transport, 'POST', path)).cancelled;
  }

  /**
   * The next `n` jobs a lease would take, as a local peek takes any `n`: past the server's 1,000
   * a request, the waiting list paged, which every store keeps in lease order (its first page is
   * the peek). Jobs leased between two of its requests may shift the later pages.
   */
  async peek(n = 1): Promise<JobInfo<T>[]> {
    const limit = positiveInteger(n, 'n');
    if (limit > serverPage) return (await this.list('waiting', { limit })).jobs;
    return (await call<{ jobs: JobInfo<T>[] }>(this.transport, 'GET', `${this.#path}/peek?n=${limit}`)).jobs;
  }

  counts(): Promise<Counts> {
    return call<Counts>(this.transport, 'GET', `${this.#path}/counts`);
  }

  /**
   * Jobs in `state`, a page at a time (default 100), as a local queue's `list`: a page larger
   * than the server answers at once is several requests.
   */
  async list(state: JobState, page: RemotePageOptions = {}): Promise<RemotePage<T>> {
    checkKeys(page, ['limit', 'cursor'], 'page');
    const limit = page.limit === undefined ? 100 : positiveInteger(page.limit, 'page.limit');
    const jobs: JobInfo<T>[] = [];
    let cursor = page.cursor ?? null;
    do {
      const query = new URLSearchParams({ state, limit: String(Math.min(limit - jobs.length, serverPage)) });
      if (cursor !== null) query.set('cursor', cursor);
      const answer = await call<RemotePage<T>>(this.transport, 'GET', `${this.#path}/jobs?${query.toString()}`);
      jobs.push(...answer.jobs);
      cursor = answer.cursor;
    } while (cursor !== null && jobs.length < limit);
    return { jobs, cursor };
  }

  /** Dead jobs, oldest death first, a page at a time. */
  dead(page: RemotePageOptions = {}): Promise<RemotePage<T>> {
    return this.list('dead', page);
  }

  async retryDead(ids?: readonly string[]): Promise<number> {
    const body = ids === undefined ? {} : { ids };
    return (await call<{ retried: number }>(this.transport, 'POST', `${this.#path}/dead/retry`, body)).retried;
  }

  /** Removes every dead job; resolves with how many. One request, whatever their number. */
  async removeDead(): Promise<number> {
    const body = { action: 'remove', state: 'dead' };
    return (await call<{ changed: number }>(this.transport, 'POST', `${this.#path}/jobs/bulk`, body)).changed;
  }

  /** The queue's stored settings, as the local `queue.settings()` answers them. */
  async settings(): Promise<QueueSettings> {
    return settingsOf(await call<SettingsJson>(this.transport, 'GET', `${this.#path}/settings`));
  }

  /** Changes the settings given; the others keep theirs. (JSON writes an Infinity as null: no limit.) */
  async configure(options: StoredQueueOptions): Promise<QueueSettings> {
    return settingsOf(await call<SettingsJson>(this.transport, 'PUT', `${this.#path}/settings`, options));
  }

  /** Delayed jobs made due now: these (the others are left alone), or all. Resolves with how many. */
  async promoteDelayed(ids?: readonly string[]): Promise<number> {
    if (ids?.length === 0) return 0;
    const body = { action: 'promote', state: 'delayed', ...(ids === undefined ? {} : { ids }) };
    return (await call<{ changed: number }>(this.transport, 'POST', `${this.#path}/jobs/bulk`, body)).changed;
  }

  /** Makes the delayed job `id` due now; NotFoundError when there is none, or it is not delayed. */
  async promote(id: string): Promise<void> {
    await call(this.transport, 'POST', `${this.#path}/jobs/${encodeURIComponent(id)}/promote`);
  }

  async purge(): Promise<number> {
    return (await call<{ purged: number }>(this.transport, 'POST', `${this.#path}/purge`)).purged;
  }

  async pause(): Promise<void> {
    await call(this.transport, 'POST', `${this.#path}/pause`);
  }

  async resume(): Promise<void> {
    await call(this.transport, 'POST', `${this.#path}/resume`);
  }

  lease(options: Omit<RemoteLeaseOptions, 'queues'> = {}): Promise<RemoteLeasedJob<T, R>[]> {
    return new SpoolClient(this.transport).lease<T, R>({ ...options, queues: [this.name] });
  }

  /**
   * The job's result once acked; rejects with JobFailedError once dead, with TimeoutError after
   * `timeout` (none: waits as long as it takes), as a local queue's waitFor does. Long-polls the
   * server, which waits at most its --max-wait per request, so a longer wait is several requests.
   */
  async waitFor(id: string, options: { timeout?: Duration; signal?: AbortSignal } = {}): Promise<R> {
    const path = `${this.#path}/jobs/${encodeURIComponent(id)}/result?wait=`;
    const timeoutMs = options.timeout === undefined ? null : parseDuration(options.timeout, 'options.timeout');
    // The time-out is counted here, not from the answers' waitedMs: a server whose --max-wait is
    // 0 answers each request at once with 0, and the time-out never came.
    const started = performance.now();
    for (;;) {
      // Without a timeout as long as one request may wait; the server cuts it to its own limit.
      const waitedMs = performance.now() - started;
      const wait = longPoll(timeoutMs === null ? 'forever' : Math.max(0, Math.ceil(timeoutMs - waitedMs)));
      const answer = await call<ResultJson<R>>(this.transport, 'GET', path + String(wait), undefined, {
        signal: options.signal,
        waitMs: wait,
      });
      if (answer.state === 'completed') return answer.result;
      if (answer.state === 'dead') throw new JobFailedError(id, answer.errors);
      // Compared unrounded: 199.5 ms rounded up ended a wait of 200 ms early.
      const elapsedMs = performance.now() - started;
      if (timeoutMs !== null && elapsedMs >= timeoutMs) throw new TimeoutError(`waitFor(${id})`, Math.round(elapsedMs));
    }
  }

  /**
   * `for await (const job of queue.consume())`: long-polls `prefetch` jobs at a time (default 1)
   * until `signal` aborts; those not yet handed out when the loop ends are released, as a local
   * queue's consume does.
   */
  consume(options: RemoteConsumeOptions = {}): AsyncGenerator<RemoteLeasedJob<T, R>, void, undefined> {
    checkKeys(options, ['prefetch', 'visibility', 'signal'], 'options');
    const prefetch = options.prefetch === undefined ? 1 : positiveInteger(options.prefetch, 'options.prefetch');
    const { signal, visibility } = options;
    return consume(() => this.#awaitJobs(prefetch, visibility, signal), signal);
  }

  /** Runs `handler` on this queue's jobs, `concurrency` at a time, until `close()`: a local queue's worker, fed over HTTP. */
  process(handler: RemoteHandler<T, R>, options: RemoteProcessOptions = {}): RemoteWorker<T, R> {
    if (typeof handler !== 'function') throw new ValidationError('handler', 'must be a function');
    const { settings, signal } = workerSettings(options);
    const { visibilityMs } = settings;
    const source = remoteSource<T, R>(
      (max, signal) => this.#awaitJobs(max, visibilityMs ?? undefined, signal),
      heartbeatOf(this.transport),
    );
    return new Worker<T, R, RemoteLeasedJob<T, R>>(source, this.name, handler, settings, signal);
  }

  /**
   * The long-poll of process() and consume(): as long as a request may wait (longPollMs, the
   * server's --max-wait), woken by an add or a due time. A server whose --max-wait is 0 answers
   * empty at once: an empty answer sooner than the worker's pause after a failed call is followed
   * by the rest of that pause (going at once, an idle queue was some 500 requests a second). Only
   * then: after a --max-wait of 30 s the next request goes at once, or a job added meanwhile
   * waited for it.
   */
  async #awaitJobs(
    max: number,
    visibility: Duration | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RemoteLeasedJob<T, R>[]> {
    const started = performance.now();
    const jobs = await this.lease({
      max,
      wait: 'forever',
      ...(visibility === undefined ? {} : { visibility }),
      ...(signal === undefined ? {} : { signal }),
    });
    const tookMs = performance.now() - started;
    if (jobs.length === 0 && tookMs < retryPauseMs) await pause(systemClock, retryPauseMs - tookMs, signal);
    return jobs;
  }
}

export class RemoteTopic<T = unknown> {
  readonly #path: string;

  constructor(
    private readonly transport: Transport,
    readonly name: string,
  ) {
    this.#path = `/v1/topics/${encodeURIComponent(name)}`;
  }

  async create(subscribers: Readonly<Record<string, SubscriberOptions>> = {}): Promise<void> {
    await call(this.transport, 'POST', '/v1/topics', { name: this.name, subscribers });
  }

  async publish(data: T, options?: PublishOptions): Promise<Record<string, string>> {
    const body = options === undefined ? { data } : { data, options };
    return (await call<{ ids: Record<string, string> }>(this.transport, 'POST', `${this.#path}/messages`, body)).ids;
  }

  /** Many messages to every subscriber, all in one atomic add: all of them or none. */
  async publishBulk(
    items: readonly { data: T; options?: PublishOptions | undefined }[],
  ): Promise<Record<string, string>[]> {
    if (items.length === 0) return [];
    return (
      await call<{ ids: Record<string, string>[] }>(this.transport, 'POST', `${this.#path}/messages/batch`, {
        messages: items,
      })
    ).ids;
  }

  /** Acknowledges messages of a subscriber by id (see the local Topic's ack); resolves with how many were its. */
  async ack(subscriber: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const path = `${this.#path}/subscribers/${encodeURIComponent(subscriber)}/ack`;
    return (await call<{ acked: number }>(this.transport, 'POST', path, { ids })).acked;
  }

  async info(): Promise<TopicInfo> {
    return call<TopicInfo>(this.transport, 'GET', this.#path);
  }

  /** Adds subscribers or changes their options, one request each. */
  async addSubscribers(subscribers: Readonly<Record<string, SubscriberOptions>>): Promise<void> {
    for (const [name, options] of Object.entries(subscribers))
      await call(this.transport, 'PUT', `${this.#path}/subscribers/${encodeURIComponent(name)}`, options);
  }

  async removeSubscriber(name: string): Promise<void> {
    await call(this.transport, 'DELETE', `${this.#path}/subscribers/${encodeURIComponent(name)}`);
  }

  async status(): Promise<SubscriberStatus[]> {
    return (await call<{ subscribers: SubscriberStatus[] }>(this.transport, 'GET', `${this.#path}/status`)).subscribers;
  }

  /** The subscriber's queue, to lease or process. */
  subscriber(name: string): RemoteQueue<T> {
    return new RemoteQueue<T>(this.transport, `${this.name}.${name}`);
  }

  async delete(): Promise<void> {
    await call(this.transport, 'DELETE', this.#path);
  }
}
