// Every error spool throws on purpose is a SpoolError with a stable `code`. Servers map the
// code to an HTTP status and a RESP error through `errorCodes`; docs/errors.md lists every
// code and test/errors.test.ts keeps the two in step.

export type ErrorCode =
  | 'VALIDATION'
  | 'QUEUE_FULL'
  | 'LEASE_LOST'
  | 'NOT_FOUND'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'JOB_FAILED'
  | 'UNKNOWN_STORE'
  | 'MISSING_DRIVER'
  | 'STORAGE'
  | 'CORRUPT'
  | 'LOCKED'
  | 'EXISTS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'EXPECTATION_FAILED'
  | 'INTERNAL'
  | 'REPLICATION';

/**
 * What each code means to a remote caller: the HTTP status a server answers with, and the first
 * word of the RESP error (`-MAXLEN …`) the Disque server answers with: Disque's own code where it
 * has one, Redis's where a Redis client knows it (NOAUTH, NOPERM), else ERR.
 */
export const errorCodes: Readonly<Record<ErrorCode, { httpStatus: number; resp: string }>> = Object.freeze({
  VALIDATION: { httpStatus: 400, resp: 'ERR' },
  QUEUE_FULL: { httpStatus: 429, resp: 'MAXLEN' },
  LEASE_LOST: { httpStatus: 409, resp: 'NOJOB' },
  NOT_FOUND: { httpStatus: 404, resp: 'NOJOB' },
  CLOSED: { httpStatus: 503, resp: 'LEAVING' },
  TIMEOUT: { httpStatus: 408, resp: 'ERR' },
  JOB_FAILED: { httpStatus: 422, resp: 'ERR' },
  UNKNOWN_STORE: { httpStatus: 400, resp: 'ERR' },
  MISSING_DRIVER: { httpStatus: 500, resp: 'ERR' },
  STORAGE: { httpStatus: 500, resp: 'ERR' },
  CORRUPT: { httpStatus: 500, resp: 'ERR' },
  LOCKED: { httpStatus: 503, resp: 'ERR' },
  EXISTS: { httpStatus: 409, resp: 'ERR' },
  UNAUTHORIZED: { httpStatus: 401, resp: 'NOAUTH' },
  FORBIDDEN: { httpStatus: 403, resp: 'NOPERM' },
  TOO_LARGE: { httpStatus: 413, resp: 'ERR' },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, resp: 'ERR' },
  EXPECTATION_FAILED: { httpStatus: 417, resp: 'ERR' },
  // No library call throws it: a server answers with it for a failure that is not a SpoolError,
  // and logs the cause; spool/client rebuilds it as an InternalError.
  INTERNAL: { httpStatus: 500, resp: 'ERR' },
  REPLICATION: { httpStatus: 503, resp: 'NOREPL' },
});

/** How a field of `details` is written in JSON: a string, a string or null, a number, a list of strings, or one of a few words. */
type FieldType = 'string' | 'string|null' | 'number' | 'string[]' | readonly string[];

type FieldValue<F> = F extends 'string'
  ? string
  : F extends 'string|null'
    ? string | null
    : F extends 'number'
      ? number
      : F extends 'string[]'
        ? readonly string[]
        : F extends readonly (infer W)[]
          ? W
          : never;

/**
 * The fields each code's error carries as `details`, by name and JSON type: what a server sends
 * beside `code` and `message`, and all a client reads to rebuild the same class with the same
 * fields (never the message, whose words may change). The OpenAPI document is made from it.
 */
export const errorDetailFields = Object.freeze({
  /** `field`: the option, argument or request part at fault (`options.delay`, `body.jobs[0]`); `problem`: what is wrong with it. */
  VALIDATION: { field: 'string', problem: 'string' },
  /** The queue that is full and its `maxLength`. */
  QUEUE_FULL: { queue: 'string', maxLength: 'number' },
  /** The token whose lease is over. */
  LEASE_LOST: { token: 'string' },
  /**
   * What was looked for: its `kind`, its `id` or name (null when the lookup named none, as a batch),
   * `within`: the queue (of a job or message) or topic (of a subscriber) it was looked for in, or
   * null; `reason`: 'not found', or why (a `waitFor` on a result no longer kept).
   */
  NOT_FOUND: {
    kind: ['job', 'topic', 'subscriber', 'message', 'route'],
    id: 'string|null',
    within: 'string|null',
    reason: 'string',
  },
  /** What is closed: 'spool', 'store', 'worker', 'server'. */
  CLOSED: { what: 'string' },
  /** What timed out (`waitFor(<id>)`, `job <id>`, `request`) and after how many milliseconds. */
  TIMEOUT: { what: 'string', ms: 'number' },
  /** The dead job and its error history, oldest first. */
  JOB_FAILED: { jobId: 'string', errors: 'string[]' },
  /** The URL no store handles, its password redacted. */
  UNKNOWN_STORE: { url: 'string' },
  /** The npm package to install, and the URL that needs it, its password redacted. */
  MISSING_DRIVER: { driver: 'string', url: 'string' },
  /** None: what failed is in the message, which names files or hosts and so stays in a server's log. */
  STORAGE: {},
  /** The damaged file, the offset of the damage in it, and what is wrong there. */
  CORRUPT: { file: 'string', offset: 'number', problem: 'string' },
  /** The data directory and the process that holds it. */
  LOCKED: { dir: 'string', ownerPid: 'number' },
  /** What exists: its kind and name. */
  EXISTS: { kind: ['topic'], id: 'string' },
  /** Why the request is not authenticated. */
  UNAUTHORIZED: { reason: 'string' },
  /** The scope (or `read`) the token lacks, and the queue or topic it was asked for ('*' for none in particular). */
  FORBIDDEN: { scope: 'string', resource: 'string' },
  /** Which part of the request is too large, and the limit in bytes. */
  TOO_LARGE: { part: ['body', 'headers'], limitBytes: 'number' },
  /** The content type that was sent, and the content coding when that is what is refused (else null). */
  UNSUPPORTED_MEDIA_TYPE: { contentType: 'string', contentEncoding: 'string|null' },
  /** The request's `Expect` header, which the server cannot meet. */
  EXPECTATION_FAILED: { expect: 'string' },
  /** The id the server logged the failure under (its log line's `reqId`): a server says no more of a bug than that. */
  INTERNAL: { requestId: 'string' },
  /** The jobs added, the copies asked for, the copies confirmed, and how long the add waited for them. */
  REPLICATION: { ids: 'string[]', copies: 'number', confirmed: 'number', timeoutMs: 'number' },
} as const satisfies Record<ErrorCode, Readonly<Record<string, FieldType>>>);

type Fields = typeof errorDetailFields;

/** `details` of an error with this code (see `errorDetailFields`). */
export type ErrorDetails<C extends ErrorCode = ErrorCode> = {
  readonly [K in keyof Fields[C]]: FieldValue<Fields[C][K]>;
};

export abstract class SpoolError extends Error {
  abstract readonly code: ErrorCode;
  /** The error's fields as plain JSON, as `errorDetailFields` lists them for its code. */
  abstract readonly details: ErrorDetails;
  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad input, caught at the edge before anything is stored. `field` names the culprit. */
export class ValidationError extends SpoolError {
  readonly code = 'VALIDATION';
  readonly details: ErrorDetails<'VALIDATION'>;
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.details = { field, problem };
  }
}

/** An add would push a queue past its `maxLength`; nothing of the batch was added. */
export class QueueFullError extends SpoolError {
  readonly code = 'QUEUE_FULL';
  readonly details: ErrorDetails<'QUEUE_FULL'>;
  constructor(
    readonly queue: string,
    readonly maxLength: number,
  ) {
    super(`queue "${queue}" is full (maxLength ${maxLength}); nothing of this batch was added`);
    this.details = { queue, maxLength };
  }
}

/** The lease behind a token expired or was taken over; the job is not this worker's any more. */
export class LeaseLostError extends SpoolError {
  readonly code = 'LEASE_LOST';
  readonly details: ErrorDetails<'LEASE_LOST'>;
  constructor(readonly token: string) {
    super(`lease ${token} was lost: it expired or the job was taken, removed or finished since`);
    this.details = { token };
  }
}

export type NotFoundKind = ErrorDetails<'NOT_FOUND'>['kind'];

/** A job, topic, subscriber, message or route that is not there. */
export class NotFoundError extends SpoolError {
  readonly code = 'NOT_FOUND';
  readonly details: ErrorDetails<'NOT_FOUND'>;
  constructor(
    readonly kind: NotFoundKind,
    readonly id: string | null,
    readonly within: string | null = null,
    readonly reason = 'not found',
  ) {
    const where = within === null ? '' : kind === 'subscriber' ? ` of topic ${within}` : ` in queue ${within}`;
    super(`${kind}${id === null ? '' : ` ${id}`}${where}: ${reason}`);
    this.details = { kind, id, within, reason };
  }
}

/** The Spool, worker or store was closed; the call did nothing. */
export class ClosedError extends SpoolError {
  readonly code = 'CLOSED';
  readonly details: ErrorDetails<'CLOSED'>;
  constructor(readonly what = 'spool') {
    super(`${what} is closed`);
    this.details = { what };
  }
}

export class TimeoutError extends SpoolError {
  readonly code = 'TIMEOUT';
  readonly details: ErrorDetails<'TIMEOUT'>;
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms}ms`);
    this.details = { what, ms };
  }
}

/** A job went dead; `waitFor` rejects with it. `errors` is the job's error history, oldest first. */
export class JobFailedError extends SpoolError {
  readonly code = 'JOB_FAILED';
  readonly details: ErrorDetails<'JOB_FAILED'>;
  constructor(
    readonly jobId: string,
    readonly errors: readonly string[],
  ) {
    super(`job ${jobId} failed: ${errors.at(-1) ?? 'no error recorded'}`);
    this.details = { jobId, errors };
  }
}

/**
 * Refuses keys the caller may have misspelt: an ignored option is a silent bug. Here, beside
 * ValidationError, so that spool/client (which imports errors.ts only) checks options as the
 * library does.
 */
export function checkKeys(value: unknown, allowed: readonly string[], field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new ValidationError(`${field}.${key}`, `unknown option (known: ${allowed.join(', ')})`);
  }
  return value as Record<string, unknown>;
}

/**
 * A nack's options, checked. An Error given in their place (`nack(error)`, as `fail(error)` takes
 * one) has no keys to refuse, and was taken as no options: the error was never recorded.
 */
export function checkNackOptions(options: unknown): { delay?: unknown; error?: unknown } {
  if (options instanceof Error)
    throw new ValidationError('options', 'nack takes options: nack({ error, delay }), or fail(error) to fail for good');
  return checkKeys(options, ['delay', 'error'], 'options');
}

/** `error` as an Error, for a rejection or a warning: a thrown value that is not one becomes its text in one. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A whole number ≥ 1 (or, with `allowInfinity`, Infinity) for `field`; here for the client as checkKeys is. */
export function positiveInteger(value: unknown, field: string, allowInfinity = false): number {
  if (allowInfinity && value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(
      field,
      `must be a whole number ≥ 1${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}`,
    );
  }
  return value;
}

/** A job id for `field`: a non-empty string (a number or a missing id would reach the store as one). */
export function checkId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw new ValidationError(
      field,
      `must be a non-empty string, got ${typeof value === 'string' ? '""' : String(value)}`,
    );
  return value;
}

/** Job ids for `field`: an array of them. */
export function checkIds(value: unknown, field: string): readonly string[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array of job ids');
  value.forEach((id, i) => checkId(id, `${field}[${i}]`));
  return value as readonly string[];
}

/** A token's parts; `seal` is null in a token of a store without a key (a log written before issue 20). */
export interface TokenParts {
  readonly id: string;
  readonly attempt: number;
  readonly seal: string | null;
}

/** Parses a token into its job id, attempt and seal; null when it is not a token. */
export function parseToken(token: string): TokenParts | null {
  const at = token.lastIndexOf(':');
  if (at <= 0) return null;
  const dot = token.indexOf('.', at);
  const attempt = Number(token.slice(at + 1, dot < 0 ? undefined : dot));
  if (!Number.isInteger(attempt) || attempt < 1) return null;
  const seal = dot < 0 ? null : token.slice(dot + 1);
  if (seal === '') return null;
  return { id: token.slice(0, at), attempt, seal };
}

export function formatToken(id: string, attempt: number, seal: string | null): string {
  return seal === null ? `${id}:${attempt}` : `${id}:${attempt}.${seal}`;
}

/** The longest token a server takes; a store's own are far shorter (a name, a number, 16 hex digits). */
export const maxTokenLength = 300;

/**
 * `token` parsed, or a ValidationError naming `field` (`field[index]` in a list): the check a
 * server applies to a token before it acks anything, which spool/client applies before it sends
 * anything. The name is made only for the error: an ack of many tokens made one a token.
 */
export function checkToken(token: unknown, field: string, index?: number): TokenParts {
  const length = typeof token === 'string' ? token.length : 0;
  const parsed = typeof token === 'string' && length <= maxTokenLength ? parseToken(token) : null;
  if (parsed === null)
    throw new ValidationError(
      index === undefined ? field : `${field}[${index}]`,
      length > maxTokenLength
        ? `must be at most ${maxTokenLength} characters, got ${length}`
        : `must be '<id>:<attempt>.<seal>', got ${JSON.stringify(token)}`,
    );
  return parsed;
}

/**
 * A worker's failure that is no job's own (a store or a network call): its 'error' event when
 * someone listens, else a process warning of type SpoolWorkerWarning, since an 'error' event
 * nobody hears would end the process. Both workers, the library's and spool/client's, report so.
 */
export function reportWorkerError(
  worker: { listenerCount(event: 'error'): number; emit(event: 'error', error: unknown): boolean },
  error: unknown,
): void {
  if (worker.listenerCount('error') > 0) {
    worker.emit('error', error);
    return;
  }
  // The type is given apart: passed an Error, emitWarning would ignore it and name the warning after the error.
  const { message, stack } = asError(error);
  process.emitWarning(message, { type: 'SpoolWorkerWarning', detail: stack });
}

/**
 * `url` fit for a log line or an error message: the password of `user:password@` and of a
 * `?password=` parameter becomes `***` (a store URL is often pasted with its credentials in).
 *
 * Read as loosely as a mistyped URL is written (`redis:/:pw@h`, `redis//:pw@h`, `htp://u:pw@h`,
 * `u:pw@h`): the credentials start after the scheme and its slashes, or at the start when there
 * are none, and end at the last `@` before the host; what follows their first colon is the
 * password. The host ends at a `/`, `?` or `#` after the first `@`, so a password pasted with a
 * raw `/`, `?`, `#` or `@` in it is masked whole. The price: a URL without credentials but with
 * an `@` past a colon (`http://h:80/a@b`, `file:./a@b`) is masked from that colon to the `@`.
 */
export function redactUrl(url: string): string {
  return redactUserinfo(url).replace(/([?&](?:password|pass|token|secret)=)[^&#]*/gi, '$1***');
}

function redactUserinfo(url: string): string {
  const start = /^[a-z][a-z0-9+.-]*:?\/+/i.exec(url)?.[0].length ?? 0;
  const first = url.indexOf('@', start);
  if (first < 0) return url;
  const hostEnd = url.slice(first).search(/[/?#]/);
  const at = url.lastIndexOf('@', hostEnd < 0 ? url.length : first + hostEnd);
  const colon = url.indexOf(':', start);
  return colon < 0 || colon > at ? url : `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

export class UnknownStoreError extends SpoolError {
  readonly code = 'UNKNOWN_STORE';
  readonly details: ErrorDetails<'UNKNOWN_STORE'>;
  /** The URL with its password redacted. */
  readonly url: string;
  constructor(url: string) {
    const redacted = redactUrl(url);
    super(
      `no store for "${redacted}": use file:<dir>, memory:, sqlite:<file>, libsql:<file>, leveldb:<dir>, ` +
        'redis://host:port, rediss://…, redis+cluster://host:port,… or postgres://user@host/db',
    );
    this.url = redacted;
    this.details = { url: redacted };
  }
}

/** An optional backend's driver is not installed. */
export class MissingDriverError extends SpoolError {
  readonly code = 'MISSING_DRIVER';
  readonly details: ErrorDetails<'MISSING_DRIVER'>;
  /** The URL with its password redacted. */
  readonly url: string;
  constructor(
    readonly driver: string,
    url: string,
  ) {
    const redacted = redactUrl(url);
    super(`"${redacted}" needs the optional package ${driver}: npm install ${driver}`);
    this.url = redacted;
    this.details = { driver, url: redacted };
  }
}

/** The store cannot go on safely (an fsync failed, the disk is full, the data is damaged). */
export class StorageError extends SpoolError {
  readonly code = 'STORAGE';
  readonly details: ErrorDetails<'STORAGE'> = {};
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Bytes read back from disk fail their checksum: they changed after they were written. They are
 * never handed out as data; a job whose payload it is goes dead with this error.
 */
export class CorruptionError extends SpoolError {
  readonly code = 'CORRUPT';
  readonly details: ErrorDetails<'CORRUPT'>;
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`${file}: damaged data at offset ${offset} (${problem}); \`spool check --repair\` keeps every intact record`);
    this.details = { file, offset, problem };
  }
}

/** Another process (or this one) already has the data directory open. */
export class LockedError extends SpoolError {
  readonly code = 'LOCKED';
  readonly details: ErrorDetails<'LOCKED'>;
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
  ) {
    super(`${dir} is in use by process ${ownerPid}: one process owns a data directory at a time`);
    this.details = { dir, ownerPid };
  }
}

/**
 * An add went through on the primary but fewer copies than `replicate` asked for were confirmed
 * in time. The jobs may still exist (and may yet reach the replicas): retry with the same key.
 */
export class ReplicationError extends SpoolError {
  readonly code = 'REPLICATION';
  readonly details: ErrorDetails<'REPLICATION'>;
  constructor(
    readonly ids: readonly string[],
    readonly copies: number,
    readonly confirmed: number,
    readonly timeoutMs: number,
  ) {
    super(
      `only ${confirmed} of ${copies} copies confirmed within ${timeoutMs}ms: job ${ids.join(', ')} was added and may still exist (an add with the same key will not add it twice)`,
    );
    this.details = { ids, copies, confirmed, timeoutMs };
  }
}

/** Something with this name already exists (a topic). */
export class ExistsError extends SpoolError {
  readonly code = 'EXISTS';
  readonly details: ErrorDetails<'EXISTS'>;
  constructor(
    readonly kind: ErrorDetails<'EXISTS'>['kind'],
    readonly id: string,
  ) {
    super(`${kind} ${id} already exists`);
    this.details = { kind, id };
  }
}

/** A server request without a valid bearer token, when the server has tokens configured. */
export class UnauthorizedError extends SpoolError {
  readonly code = 'UNAUTHORIZED';
  readonly details: ErrorDetails<'UNAUTHORIZED'>;
  constructor(readonly reason = 'missing or invalid bearer token') {
    super(reason);
    this.details = { reason };
  }
}

/** A server request whose token lacks the scope, or the queue or topic prefix, the route needs. */
export class ForbiddenError extends SpoolError {
  readonly code = 'FORBIDDEN';
  readonly details: ErrorDetails<'FORBIDDEN'>;
  constructor(
    readonly scope: string,
    readonly resource: string,
  ) {
    super(`this token may not ${scope} on "${resource}"`);
    this.details = { scope, resource };
  }
}

/** A request body, or its headers, over the server's size limit. */
export class TooLargeError extends SpoolError {
  readonly code = 'TOO_LARGE';
  readonly details: ErrorDetails<'TOO_LARGE'>;
  constructor(
    readonly limitBytes: number,
    readonly part: ErrorDetails<'TOO_LARGE'>['part'] = 'body',
  ) {
    super(`request ${part} ${part === 'body' ? 'is' : 'are'} over the limit of ${limitBytes} bytes`);
    this.details = { part, limitBytes };
  }
}

/** A request body in a content type the server does not read (it reads application/json). */
export class UnsupportedMediaTypeError extends SpoolError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  readonly details: ErrorDetails<'UNSUPPORTED_MEDIA_TYPE'>;
  /** `contentEncoding`: the body's content coding when that is what is refused, else null. */
  constructor(
    readonly contentType: string,
    readonly contentEncoding: string | null = null,
  ) {
    super(
      contentEncoding === null
        ? `content type "${contentType}" is not supported: send application/json`
        : `content encoding "${contentEncoding}" is not supported: send the body uncompressed (identity)`,
    );
    this.details = { contentType, contentEncoding };
  }
}

/** A request whose `Expect` header asks for more than 100-continue, the one expectation a server meets. */
export class ExpectationFailedError extends SpoolError {
  readonly code = 'EXPECTATION_FAILED';
  readonly details: ErrorDetails<'EXPECTATION_FAILED'>;
  constructor(readonly expect: string) {
    super(`Expect: ${JSON.stringify(expect)} cannot be met: only 100-continue is`);
    this.details = { expect };
  }
}

/**
 * What a server answers for a failure of `code` in place of its cause, which may name a file, a
 * host or a secret: the request id its log line has, so the caller has something to give whoever
 * reads the log.
 */
export const seeServerLog = (code: ErrorCode, requestId: string): string =>
  `${code.toLowerCase()} error; see the server log (reqId ${requestId})`;

/**
 * A server's failure that is not a SpoolError (a bug), as spool/client rebuilds it from the 500
 * the server answered: `requestId` finds the server's log line, which has the cause.
 */
export class InternalError extends SpoolError {
  readonly code = 'INTERNAL';
  readonly details: ErrorDetails<'INTERNAL'>;
  constructor(readonly requestId: string) {
    super(seeServerLog('INTERNAL', requestId));
    this.details = { requestId };
  }
}

/** Each class from its details; `message` only for StorageError, whose message is all it has. */
const fromDetails: {
  readonly [C in ErrorCode]: (details: ErrorDetails<C>, message: string) => SpoolError;
} = {
  VALIDATION: (d) => new ValidationError(d.field, d.problem),
  QUEUE_FULL: (d) => new QueueFullError(d.queue, d.maxLength),
  LEASE_LOST: (d) => new LeaseLostError(d.token),
  NOT_FOUND: (d) => new NotFoundError(d.kind, d.id, d.within, d.reason),
  CLOSED: (d) => new ClosedError(d.what),
  TIMEOUT: (d) => new TimeoutError(d.what, d.ms),
  JOB_FAILED: (d) => new JobFailedError(d.jobId, d.errors),
  UNKNOWN_STORE: (d) => new UnknownStoreError(d.url),
  MISSING_DRIVER: (d) => new MissingDriverError(d.driver, d.url),
  STORAGE: (_d, message) => new StorageError(message),
  CORRUPT: (d) => new CorruptionError(d.file, d.offset, d.problem),
  LOCKED: (d) => new LockedError(d.dir, d.ownerPid),
  REPLICATION: (d) => new ReplicationError(d.ids, d.copies, d.confirmed, d.timeoutMs),
  EXISTS: (d) => new ExistsError(d.kind, d.id),
  UNAUTHORIZED: (d) => new UnauthorizedError(d.reason),
  FORBIDDEN: (d) => new ForbiddenError(d.scope, d.resource),
  TOO_LARGE: (d) => new TooLargeError(d.limitBytes, d.part),
  UNSUPPORTED_MEDIA_TYPE: (d) => new UnsupportedMediaTypeError(d.contentType, d.contentEncoding),
  EXPECTATION_FAILED: (d) => new ExpectationFailedError(d.expect),
  INTERNAL: (d) => new InternalError(d.requestId),
};

function fits(type: FieldType, value: unknown): boolean {
  if (Array.isArray(type)) return type.includes(value);
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'string|null':
      return value === null || typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    default:
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

/**
 * The SpoolError a far side sent as `{ code, message, details }`, rebuilt from `code` and
 * `details` alone: the same class with the same fields. Null for a code this version does not
 * know, or details without the fields of its code (a server older than details, or than an
 * INTERNAL's `requestId`).
 */
export function errorFromDetails(code: unknown, details: unknown, message: string): SpoolError | null {
  if (typeof code !== 'string' || !Object.hasOwn(fromDetails, code)) return null;
  if (typeof details !== 'object' || details === null) return null;
  const fields: Readonly<Record<string, FieldType>> = errorDetailFields[code as ErrorCode];
  for (const [field, type] of Object.entries(fields))
    if (!fits(type, (details as Record<string, unknown>)[field])) return null;
  const rebuild = fromDetails[code as ErrorCode] as (d: unknown, m: string) => SpoolError;
  return rebuild(details, message);
}
