// Every failure leaves the server as a 4xx/5xx with a JSON body whose status comes from the
// error's code (errorCodes). fastify's own errors (bad JSON, schema, body size, unknown route)
// become SpoolErrors first; anything else is a bug: logged, answered as INTERNAL without detail.
import type { FastifyError } from 'fastify';
import {
  errorCodes,
  NotFoundError,
  SpoolError,
  TooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../index.ts';
import type { ErrorCode } from '../../index.ts';

export interface Failure {
  readonly status: number;
  readonly code: ErrorCode;
  /** Safe to show: no stack, no file path. */
  readonly message: string;
  /** The error as it came, for the log, when it is not the caller's fault. */
  readonly cause: unknown;
}

function fromFastify(error: FastifyError, bodyLimit: number, contentType: string): SpoolError | null {
  if (error.validation !== undefined) {
    const first = error.validation[0];
    const where = `${error.validationContext ?? 'body'}${first?.instancePath.replaceAll('/', '.') ?? ''}`;
    const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    return new ValidationError(
      extra === undefined ? where : `${where}.${extra}`,
      extra === undefined ? (first?.message ?? 'is invalid') : 'unknown field',
    );
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) return new TooLargeError(bodyLimit);
  if (error.statusCode === 404) return new NotFoundError('route');
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415)
    return new UnsupportedMediaTypeError(contentType);
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // Bad JSON, an empty body: the parser's message names no path.
    return new ValidationError('body', error.message);
  }
  return null;
}

/** `contentType`: the request's, for a 415's message. */
export function failure(error: unknown, bodyLimit: number, contentType = ''): Failure {
  const spoolError =
    error instanceof SpoolError
      ? error
      : typeof error === 'object' && error !== null
        ? fromFastify(error as FastifyError, bodyLimit, contentType)
        : null;
  if (spoolError === null) return { status: 500, code: 'INTERNAL', message: 'internal error', cause: error };
  const status = errorCodes[spoolError.code].httpStatus;
  // A 5xx message may name a file or directory of the server (a damaged log, a lock): keep it in the log.
  if (status >= 500)
    return {
      status,
      code: spoolError.code,
      message: `${spoolError.code.toLowerCase()} error; see the server log`,
      cause: error,
    };
  return { status, code: spoolError.code, message: spoolError.message, cause: null };
}
