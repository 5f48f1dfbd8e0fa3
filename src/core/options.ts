// Options are read here, once, at the edge: checked, given their defaults, turned into frozen
// plain objects whose names carry their units. Nothing past this file sees '5m' or a missing field.
import { checkKeys, positiveInteger, ValidationError } from '../errors.ts';
import { defaultQueueSettings } from '../store/contract.ts';
import type { Backoff, NewJob, QueueSettings, Retention } from '../store/contract.ts';
import type { Codec } from './codec.ts';
import { jsonCodec } from './codec.ts';
import { parseDuration } from './duration.ts';
import type { Duration } from './duration.ts';

export interface BackoffOptions {
  type: 'fixed' | 'exponential';
  /** fixed: the delay; exponential: the first delay, doubled at each attempt. */
  delay: Duration;
  /** Upper bound; default 1 hour. */
  maxDelay?: Duration;
  /** 0..1: the share of each delay that is random (thundering herds); default 0. */
  jitter?: number;
}

/** A retry delay computed in process: used when a handler fails or a job is nacked without a delay. */
export type BackoffFunction = (attempt: number, error: unknown) => Duration;

export interface JobOptions {
  /** Wait this long before the job can be leased. */
  delay?: Duration;
  /** Higher runs first; default 0. A whole number from -2^31 to 2^31 - 1. */
  priority?: number;
  /**
   * Past this age (from the add) the job is removed, whatever its state. A `delay` must be shorter:
   * the add of a job that would expire before it could run is a ValidationError.
   */
  ttl?: Duration;
  /** Leases before the job goes dead; default 5. */
  maxAttempts?: number;
  /**
   * As data, so every backend can apply it when a lease expires; functions go in queue options.
   * A duration alone (`1000`, `'1s'`, `0`) is a fixed delay.
   */
  backoff?: BackoffOptions | Duration;
  /** Lease length before the job is handed out again; default 30s. */
  visibility?: Duration;
  /** Idempotency key: a second add with the same key returns the first job's id. */
  key?: string;
  /**
   * Copies that must hold the job, the primary's included, before the add resolves (Disque's
   * REPLICATE); default 1. Over what the store can keep (`capabilities.maxReplicas + 1`) is a ValidationError.
   */
  replicate?: number;
  /**
   * The caller's own database transaction or client, on a store with
   * `capabilities.transactions`: the add commits with it, and blocked leases wake once it has
   * committed. A store without the capability refuses it (ValidationError naming `tx`).
   */
  tx?: unknown;
}

export interface KeepOptions {
  /** Newest completed jobs to keep. */
  count?: number;
  /** Longest to keep a completed job. */
  age?: Duration;
}

/**
 * A queue's settings as the store keeps them (`QueueSettings`), as options: what
 * `spool.queue(name, options)` writes to the store and `queue.configure` changes. Every process
 * sees them; a handle made without options uses what is stored.
 */
export interface StoredQueueOptions {
  /** Past this age a new job is removed, whatever its state; null: never. */
  ttl?: Duration | null;
  /** Leases before a job goes dead; default 5. */
  maxAttempts?: number;
  /** As data: every process and the store apply it. */
  backoff?: BackoffOptions | Duration;
  /** Lease length; default 30s. */
  visibility?: Duration;
  /** Most jobs waiting or delayed; an add past it fails with QueueFullError. Null: no limit. */
  maxLength?: number | null;
  /** Completed jobs (and their results) kept for `get` and `waitFor`: default 1,000 for 1 day. */
  keepCompleted?: boolean | number | KeepOptions;
  /** Dead jobs kept (the newest by when they died): default every one, for ever. */
  keepDead?: boolean | number | KeepOptions;
  /** Leases take nothing from the queue (`queue.pause()`). */
  paused?: boolean;
}

/**
 * A handle's options: the stored ones (written to the store when the handle is made), and the
 * handle's own — `delay`, `priority`, `replicate`, a back-off function and the codec — which
 * only its own adds and workers use.
 */
export interface QueueOptions<T = unknown> extends Omit<StoredQueueOptions, 'backoff' | 'paused'> {
  delay?: Duration;
  priority?: number;
  backoff?: BackoffOptions | Duration | BackoffFunction;
  /** Copies each add waits for, the primary's included (see JobOptions.replicate). */
  replicate?: number;
  codec?: Codec<T>;
}

/** A job's options with the queue's defaults applied. */
export interface JobSettings {
  readonly delayMs: number;
  readonly priority: number;
  readonly ttlMs: number | null;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly visibilityMs: number;
  readonly key: string | null;
  readonly replicate: number;
}

/** The store's view of a job about to be added to `queue` at `now` with these settings. */
export function newJob(queue: string, payload: Uint8Array, settings: JobSettings, now: number): NewJob {
  return {
    queue,
    payload,
    priority: settings.priority,
    maxAttempts: settings.maxAttempts,
    availableAt: now + settings.delayMs,
    expiresAt: settings.ttlMs === null ? null : now + settings.ttlMs,
    visibilityMs: settings.visibilityMs,
    backoff: settings.backoff,
    key: settings.key,
  };
}

export interface QueueConfig {
  readonly name: string;
  /** The handle's own job defaults (delay, priority, replicate); the stored settings give the rest at each add. */
  readonly job: Pick<JobSettings, 'delayMs' | 'priority' | 'replicate'>;
  /** The queue's back-off function, when it has one instead of a data back-off. */
  readonly retryDelay: BackoffFunction | null;
  /** What the handle's options say of the stored settings: written to the store as the handle is made. */
  readonly stored: Partial<QueueSettings>;
  readonly codec: Codec<unknown>;
}

export const defaultBackoff: Backoff = defaultQueueSettings.backoff;

/** A job's defaults when neither the handle nor the store says otherwise. */
export const defaultJob: JobSettings = jobDefaults({ delayMs: 0, priority: 0, replicate: 1 }, defaultQueueSettings);

/** A new job's defaults: the handle's own, over the queue's stored settings. */
export function jobDefaults(own: QueueConfig['job'], stored: QueueSettings): JobSettings {
  return Object.freeze({
    ...own,
    ttlMs: stored.ttlMs,
    maxAttempts: stored.maxAttempts,
    backoff: stored.backoff,
    visibilityMs: stored.visibilityMs,
    key: null,
  });
}

const queueName = /^[A-Za-z0-9_.:-]{1,200}$/;

export function checkQueueName(name: unknown, field = 'queue'): string {
  if (typeof name !== 'string' || !queueName.test(name)) {
    throw new ValidationError(
      field,
      `must be 1-200 characters of letters, digits, '_', '.', ':' or '-', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** A whole number from `min` to `max`: a count of jobs an option asks for. */
export function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new ValidationError(field, `must be a whole number from ${min} to ${max}, got ${String(value)}`);
  return value;
}

/** Priorities every store keeps as they are: PostgreSQL's and SQLite's columns are 32-bit. */
const priorityRange = 2 ** 31;

function priority(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -priorityRange || value >= priorityRange)
    throw new ValidationError(
      field,
      `must be a whole number from ${-priorityRange} to ${priorityRange - 1}, got ${String(value)}`,
    );
  return value;
}

const positive = { positive: true } as const;

const backoffShapes =
  "must be a delay (ms or a duration string like '1s': a fixed back-off) or " +
  "{ type: 'fixed' | 'exponential', delay, maxDelay?, jitter? }";

/** A back-off as data: a duration alone is a fixed delay (BullMQ's `backoff: 1000`). */
export function backoff(value: unknown, field: string): Backoff {
  if (typeof value === 'number' || typeof value === 'string') {
    const delayMs = parseDuration(value, field);
    return Object.freeze({
      kind: 'fixed',
      delayMs,
      maxDelayMs: Math.max(delayMs, defaultBackoff.maxDelayMs),
      jitter: 0,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, `${backoffShapes}, got ${value === null ? 'null' : typeof value}`);
  const o = checkKeys(value, ['type', 'delay', 'maxDelay', 'jitter'], field);
  if (o.type !== 'fixed' && o.type !== 'exponential')
    throw new ValidationError(`${field}.type`, `must be 'fixed' or 'exponential' (${field} ${backoffShapes})`);
  const delayMs = parseDuration(o.delay, `${field}.delay`);
  const maxDelayMs =
    o.maxDelay === undefined
      ? Math.max(delayMs, defaultBackoff.maxDelayMs)
      : parseDuration(o.maxDelay, `${field}.maxDelay`);
  if (maxDelayMs < delayMs) throw new ValidationError(`${field}.maxDelay`, 'must not be less than delay');
  const jitter = o.jitter ?? 0;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1))
    throw new ValidationError(`${field}.jitter`, 'must be a number from 0 to 1');
  return Object.freeze({ kind: o.type, delayMs, maxDelayMs, jitter });
}

const jobKeys = ['delay', 'priority', 'ttl', 'maxAttempts', 'backoff', 'visibility', 'key', 'replicate', 'tx'] as const;

/**
 * The caller's transaction from `{ tx }`, handed to the store as it is: the store narrows it to
 * its driver's type, or refuses it when it has no `capabilities.transactions`.
 */
export function txOption(options: unknown, field: string): unknown {
  return checkKeys(options, ['tx'], field).tx;
}

/** Whether nothing `jobSettings` reads of `options` can change: it and its back-off object are frozen. */
function isFrozenDeep(options: object): boolean {
  const { backoff } = options as { backoff?: unknown };
  return Object.isFrozen(options) && (typeof backoff !== 'object' || backoff === null || Object.isFrozen(backoff));
}

/**
 * The settings made from each frozen options object, by the settings they were made over. One
 * that cannot change may be given again without being read again: the RESP server adds every
 * ADDJOB of the same arguments with one (issue 17), on whichever queue it names.
 */
const settingsOfFrozen = new WeakMap<object, WeakMap<JobSettings, JobSettings>>();

/**
 * Applies `options` over `base`; `field` prefixes the names in errors. A frozen options object is
 * read once for each `base`; any other at every call, since its caller may change it.
 */
export function jobSettings(base: JobSettings, options: unknown, field = 'options'): JobSettings {
  // Most adds give no options: the queue's own settings, not a frozen copy a job. Checked here
  // since the handle's delay and the stored ttl meet only at the add.
  if (options === undefined && base.key === null) return expiresLater(base, field, 'delay');
  if (typeof options !== 'object' || options === null || !isFrozenDeep(options)) return read(base, options, field);
  let byBase = settingsOfFrozen.get(options);
  if (byBase === undefined) settingsOfFrozen.set(options, (byBase = new WeakMap()));
  let settings = byBase.get(base);
  if (settings === undefined) byBase.set(base, (settings = read(base, options, field)));
  return settings;
}

function read(base: JobSettings, options: unknown, field: string): JobSettings {
  const o = checkKeys(options, jobKeys, field);
  let key: string | null = null;
  if (o.key !== undefined) {
    if (typeof o.key !== 'string' || o.key.length === 0 || o.key.length > 512)
      throw new ValidationError(`${field}.key`, 'must be a string of 1-512 characters');
    // PostgreSQL's text cannot hold one (its add failed as a STORAGE error): refused on every store alike.
    if (o.key.includes('\0')) throw new ValidationError(`${field}.key`, 'must not contain a NUL character (\\0)');
    key = o.key;
  }
  const settings = Object.freeze({
    delayMs: o.delay === undefined ? base.delayMs : parseDuration(o.delay, `${field}.delay`),
    priority: o.priority === undefined ? base.priority : priority(o.priority, `${field}.priority`),
    ttlMs: o.ttl === undefined ? base.ttlMs : parseDuration(o.ttl, `${field}.ttl`, positive),
    maxAttempts:
      o.maxAttempts === undefined ? base.maxAttempts : positiveInteger(o.maxAttempts, `${field}.maxAttempts`, true),
    backoff: o.backoff === undefined ? base.backoff : backoff(o.backoff, `${field}.backoff`),
    visibilityMs:
      o.visibility === undefined ? base.visibilityMs : parseDuration(o.visibility, `${field}.visibility`, positive),
    key,
    replicate: o.replicate === undefined ? base.replicate : positiveInteger(o.replicate, `${field}.replicate`),
  });
  return expiresLater(settings, field, o.delay === undefined ? 'ttl' : 'delay');
}

/**
 * `settings`, once sure its job can run before it expires: a TTL counts from the add, so a delay
 * as long would expire the job unseen (Disque's ADDJOB refuses DELAY >= TTL too). `culprit` is the
 * option the error names.
 */
function expiresLater(settings: JobSettings, field: string, culprit: 'delay' | 'ttl'): JobSettings {
  const { delayMs, ttlMs } = settings;
  if (ttlMs !== null && delayMs > 0 && delayMs >= ttlMs)
    throw new ValidationError(
      `${field}.${culprit}`,
      `a delay of ${delayMs} ms is not shorter than the ttl of ${ttlMs} ms, which counts from the add: the job would expire before it could run`,
    );
  return settings;
}

/** Retention from options; a part not given is the setting's default (`defaultKeep`). */
function retention(value: unknown, field: string, defaultKeep: Retention): Retention {
  if (value === false || value === 0) return Object.freeze({ count: 0, ageMs: 0 });
  if (value === true) return Object.freeze({ count: Infinity, ageMs: Infinity });
  if (typeof value === 'number')
    return Object.freeze({ count: positiveInteger(value, field, true), ageMs: defaultKeep.ageMs });
  const o = checkKeys(value, ['count', 'age'], field);
  return Object.freeze({
    count:
      o.count === undefined ? defaultKeep.count : o.count === 0 ? 0 : positiveInteger(o.count, `${field}.count`, true),
    ageMs:
      o.age === undefined ? defaultKeep.ageMs : o.age === Infinity ? Infinity : parseDuration(o.age, `${field}.age`),
  });
}

const storedKeys = [
  'ttl',
  'maxAttempts',
  'backoff',
  'visibility',
  'maxLength',
  'keepCompleted',
  'keepDead',
  'paused',
] as const;

/** Stored settings from options (`StoredQueueOptions`): only those given, checked. */
export function settingsChanges(options: unknown, field = 'options'): Partial<QueueSettings> {
  const o = checkKeys(options, storedKeys, field);
  const changes: { -readonly [K in keyof QueueSettings]?: QueueSettings[K] } = {};
  if (o.ttl !== undefined) changes.ttlMs = o.ttl === null ? null : parseDuration(o.ttl, `${field}.ttl`, positive);
  if (o.maxAttempts !== undefined) changes.maxAttempts = positiveInteger(o.maxAttempts, `${field}.maxAttempts`, true);
  if (o.backoff !== undefined) changes.backoff = backoff(o.backoff, `${field}.backoff`);
  if (o.visibility !== undefined) changes.visibilityMs = parseDuration(o.visibility, `${field}.visibility`, positive);
  if (o.maxLength !== undefined)
    changes.maxLength = o.maxLength === null ? null : positiveInteger(o.maxLength, `${field}.maxLength`);
  if (o.keepCompleted !== undefined)
    changes.keepCompleted = retention(o.keepCompleted, `${field}.keepCompleted`, defaultQueueSettings.keepCompleted);
  if (o.keepDead !== undefined)
    changes.keepDead = retention(o.keepDead, `${field}.keepDead`, defaultQueueSettings.keepDead);
  if (o.paused !== undefined) {
    if (typeof o.paused !== 'boolean') throw new ValidationError(`${field}.paused`, 'must be true or false');
    changes.paused = o.paused;
  }
  return Object.freeze(changes);
}

export function queueConfig(name: string, options: unknown): QueueConfig {
  checkQueueName(name);
  const own = ['delay', 'priority', 'replicate', 'codec'];
  const o = checkKeys(options, [...storedKeys.filter((k) => k !== 'paused'), ...own], 'options');
  const retryDelay = typeof o.backoff === 'function' ? (o.backoff as BackoffFunction) : null;
  const pick = (keys: readonly string[], skip?: string): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k) && k !== skip));
  const stored = settingsChanges(pick(storedKeys, retryDelay === null ? undefined : 'backoff'));
  const local = jobSettings(defaultJob, pick(own.slice(0, 3)));
  const job = Object.freeze({ delayMs: local.delayMs, priority: local.priority, replicate: local.replicate });
  const codec = o.codec ?? jsonCodec;
  if (
    typeof codec !== 'object' ||
    codec === null ||
    typeof (codec as Codec<unknown>).encode !== 'function' ||
    typeof (codec as Codec<unknown>).decode !== 'function'
  ) {
    throw new ValidationError('options.codec', 'must have encode() and decode()');
  }
  const encodeAll: unknown = (codec as Record<string, unknown>).encodeAll;
  if (encodeAll !== undefined && typeof encodeAll !== 'function')
    throw new ValidationError('options.codec', 'encodeAll, when given, must be a function');
  return Object.freeze({ name, job, retryDelay, stored, codec: codec as Codec<unknown> });
}
