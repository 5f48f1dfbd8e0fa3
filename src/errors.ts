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
  // No class throws it: a server answers with it for a failure that is not a SpoolError, and logs the cause.
  INTERNAL: { httpStatus: 500, resp: 'ERR' },
  REPLICATION: { httpStatus: 503, resp: 'NOREPL' },
});

export abstract class SpoolError extends Error {
  abstract readonly code: ErrorCode;
  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad input, caught at the edge before anything is stored. `field` names the culprit. */
export class ValidationError extends SpoolError {
  readonly code = 'VALIDATION';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** An add would push a queue past its `maxLength`; nothing of the batch was added. */
export class QueueFullError extends SpoolError {
  readonly code = 'QUEUE_FULL';
  constructor(
    readonly queue: string,
    readonly maxLength: number,
  ) {
    super(`queue "${queue}" is full (maxLength ${maxLength}); nothing of this batch was added`);
  }
}

/** The lease behind a token expired or was taken over; the job is not this worker's any more. */
export class LeaseLostError extends SpoolError {
  readonly code = 'LEASE_LOST';
  constructor(readonly token: string) {
    super(`lease ${token} was lost: it expired or the job was taken, removed or finished since`);
  }
}

export class NotFoundError extends SpoolError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly what: string,
    detail = 'not found',
  ) {
    super(`${what}: ${detail}`);
  }
}

/** The Spool, worker or store was closed; the call did nothing. */
export class ClosedError extends SpoolError {
  readonly code = 'CLOSED';
  constructor(what = 'spool') {
    super(`${what} is closed`);
  }
}

export class TimeoutError extends SpoolError {
  readonly code = 'TIMEOUT';
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms}ms`);
  }
}

/** A job went dead; `waitFor` rejects with it. `errors` is the job's error history, oldest first. */
export class JobFailedError extends SpoolError {
  readonly code = 'JOB_FAILED';
  constructor(
    readonly jobId: string,
    readonly errors: readonly string[],
  ) {
    super(`job ${jobId} failed: ${errors.at(-1) ?? 'no error recorded'}`);
  }
}

/**
 * `url` fit for a log line or an error message: the password of `user:password@` and of a
 * `?password=` parameter becomes `***` (a store URL is often pasted with its credentials in).
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(/([?&](?:password|pass|token|secret)=)[^&#]*/gi, '$1***');
}

export class UnknownStoreError extends SpoolError {
  readonly code = 'UNKNOWN_STORE';
  constructor(url: string) {
    super(`no store for "${redactUrl(url)}": use file:<dir>, memory: or redis://host:port`);
  }
}

/** An optional backend's driver is not installed. */
export class MissingDriverError extends SpoolError {
  readonly code = 'MISSING_DRIVER';
  constructor(
    readonly driver: string,
    url: string,
  ) {
    super(`"${redactUrl(url)}" needs the optional package ${driver}: npm install ${driver}`);
  }
}

/** The store cannot go on safely (an fsync failed, the disk is full, the data is damaged). */
export class StorageError extends SpoolError {
  readonly code = 'STORAGE';
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
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${file}: damaged data at offset ${offset} (${detail}); \`spool check --repair\` keeps every intact record`);
  }
}

/** Another process (or this one) already has the data directory open. */
export class LockedError extends SpoolError {
  readonly code = 'LOCKED';
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
  ) {
    super(`${dir} is in use by process ${ownerPid}: one process owns a data directory at a time`);
  }
}

/**
 * An add went through on the primary but fewer copies than `replicate` asked for were confirmed
 * in time. The jobs may still exist (and may yet reach the replicas): retry with the same key.
 */
export class ReplicationError extends SpoolError {
  readonly code = 'REPLICATION';
  constructor(
    readonly ids: readonly string[],
    readonly copies: number,
    readonly confirmed: number,
    timeoutMs: number,
  ) {
    super(
      `only ${confirmed} of ${copies} copies confirmed within ${timeoutMs}ms: job ${ids.join(', ')} was added and may still exist (an add with the same key will not add it twice)`,
    );
  }
}

/** Something with this name already exists (a topic). */
export class ExistsError extends SpoolError {
  readonly code = 'EXISTS';
  constructor(readonly what: string) {
    super(`${what} already exists`);
  }
}

/** A server request without a valid bearer token, when the server has tokens configured. */
export class UnauthorizedError extends SpoolError {
  readonly code = 'UNAUTHORIZED';
  constructor(detail = 'missing or invalid bearer token') {
    super(detail);
  }
}

/** A server request whose token lacks the scope, or the queue or topic prefix, the route needs. */
export class ForbiddenError extends SpoolError {
  readonly code = 'FORBIDDEN';
  constructor(
    readonly scope: string,
    readonly resource: string,
  ) {
    super(`this token may not ${scope} on "${resource}"`);
  }
}

/** A request body over the server's size limit. */
export class TooLargeError extends SpoolError {
  readonly code = 'TOO_LARGE';
  constructor(readonly limitBytes: number) {
    super(`request body is over the limit of ${limitBytes} bytes`);
  }
}

/** A request body in a content type the server does not read (it reads application/json). */
export class UnsupportedMediaTypeError extends SpoolError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  constructor(readonly contentType: string) {
    super(`content type "${contentType}" is not supported: send application/json`);
  }
}
