// Every failure leaves the server as a 4xx/5xx with a JSON body `{ error: { code, message,
// details } }` whose status comes from the error's code (errorCodes) and whose details are the
// error's fields (errorDetailFields), all a client needs to rebuild it. fastify's own errors (bad
// JSON, schema, body size, unknown route) become SpoolErrors first; anything else is a bug:
// logged, answered as INTERNAL with only the request id its log line carries. Every 5xx names
// that id: the log has what the answer may not say.
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifySchemaValidationError } from 'fastify';
import { seeServerLog } from '../../errors.ts';
import {
  errorCodes,
  InternalError,
  NotFoundError,
  SpoolError,
  TimeoutError,
  TooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../index.ts';
import type { ErrorCode, ErrorDetails } from '../../index.ts';
import type { ConnectionLimits } from './connections.ts';
import { maxNameLength } from './schemas.ts';

export interface Failure {
  readonly status: number;
  readonly code: ErrorCode;
  /** Safe to show: no stack, no file path. */
  readonly message: string;
  readonly details: ErrorDetails;
  /** The error as it came, for the log, when it is not the caller's fault. */
  readonly cause: unknown;
}

type SchemaError = FastifySchemaValidationError;

const deepest = (errors: readonly SchemaError[]): SchemaError =>
  errors.reduce((deep, e) => (e.instancePath.length > deep.instancePath.length ? e : deep));

/**
 * The schema error that tells the caller what to fix. A value that fits no branch of an `anyOf`
 * (a duration is a number or a string; a back-off a duration or an object) comes with an error
 * from each branch, the first always the number's 'must be number': the error from the branch
 * of the value's own type says what is wrong inside it (`backoff.jitter: must be <= 1`), and a
 * value of no branch's type is told every type it may be.
 */
function telling(errors: readonly SchemaError[]): { at: SchemaError; message: string } | null {
  const first = errors[0];
  if (first === undefined) return null;
  if (!errors.some((e) => e.keyword === 'anyOf')) return { at: first, message: first.message ?? 'is invalid' };
  const branches = errors.filter((e) => e.keyword !== 'anyOf');
  const inside = branches.filter((e) => e.keyword !== 'type');
  if (inside.length > 0) {
    const at = deepest(inside);
    return { at, message: at.message ?? 'is invalid' };
  }
  const at = deepest(branches);
  const types = new Set(branches.filter((e) => e.instancePath === at.instancePath).map((e) => String(e.params.type)));
  return { at, message: `must be ${[...types].join(' or ')}` };
}

function fromFastify(error: FastifyError, bodyLimit: number, contentType: string): SpoolError | null {
  if (error.validation !== undefined) {
    const found = telling(error.validation);
    const where = `${error.validationContext ?? 'body'}${found?.at.instancePath.replaceAll('/', '.') ?? ''}`;
    const extra = (found?.at.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    const allowed = (found?.at.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
    const message =
      allowed === undefined ? (found?.message ?? 'is invalid') : `must be one of ${allowed.map(String).join(', ')}`;
    return new ValidationError(
      extra === undefined ? where : `${where}.${extra}`,
      extra === undefined ? message : 'unknown field',
    );
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) return new TooLargeError(bodyLimit);
  if (error.statusCode === 404) return new NotFoundError('route', null);
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415)
    return new UnsupportedMediaTypeError(contentType);
  // The router's own messages quote the whole path back.
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new ValidationError('path', `a path parameter is too long (names are at most ${maxNameLength} characters)`);
  if (error.code === 'FST_ERR_BAD_URL') return new ValidationError('path', 'is not a valid URL component');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // Bad JSON, an empty body: the parser's message names no path.
    return new ValidationError('body', error.message);
  }
  return null;
}

/** `contentType`: the request's, for a 415's message; `requestId`: the id the failure is logged under. */
export function failure(error: unknown, bodyLimit: number, contentType: string, requestId: string): Failure {
  const spoolError =
    error instanceof SpoolError
      ? error
      : typeof error === 'object' && error !== null
        ? fromFastify(error as FastifyError, bodyLimit, contentType)
        : null;
  if (spoolError === null) {
    // Nothing of the error itself, which may name a file, a host or a secret: the id finds it in the log.
    const { message, details } = new InternalError(requestId);
    return { status: 500, code: 'INTERNAL', message, details, cause: error };
  }
  const { code, details } = spoolError;
  const status = errorCodes[code].httpStatus;
  // A 5xx message may name a file or directory of the server (a failed fsync, a lost host): it
  // stays in the log, and the answer names the log line's request id as INTERNAL's does. Its
  // details are declared fields (a damaged segment's name and offset), sent as they are.
  if (status >= 500) return { status, code, message: seeServerLog(code, requestId), details, cause: error };
  return { status, code, message: spoolError.message, details, cause: null };
}

/** The JSON body of a failure on spool's own routes. */
export const errorBody = (f: Pick<Failure, 'code' | 'message' | 'details'>) => ({
  error: { code: f.code, message: f.message, details: f.details },
});

/** What Node's HTTP parser refused, as the SpoolError it is. */
function parserError(error: NodeJS.ErrnoException, limits: ConnectionLimits): SpoolError {
  // Node says only that a time-out passed; a request has its headers' (the shorter) first.
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new TimeoutError('request', Math.min(limits.idleTimeoutMs, limits.requestTimeoutMs));
  if (error.code === 'HPE_HEADER_OVERFLOW') return new TooLargeError(maxHeaderSize, 'headers');
  return new ValidationError('request', 'is not valid HTTP');
}

/**
 * Answers a request that Node's HTTP parser refused before fastify saw it (malformed, headers too
 * large, or not in whole within the time-outs) in the same JSON shape, then ends the connection.
 */
export const clientErrorAnswer = (limits: ConnectionLimits) => (error: NodeJS.ErrnoException, socket: Socket) => {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refused = parserError(error, limits);
  const status = errorCodes[refused.code].httpStatus;
  const body = JSON.stringify(errorBody(refused));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  socket.destroy(error);
};
