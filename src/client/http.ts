// One JSON call to a spool server, and the server's JSON errors turned back into the same
// SpoolError classes a local spool throws, so callers match on `code` the same way.
import {
  ClosedError,
  ExistsError,
  ForbiddenError,
  LeaseLostError,
  NotFoundError,
  QueueFullError,
  StorageError,
  TooLargeError,
  UnauthorizedError,
  ValidationError,
} from '../errors.ts';
import type { ErrorCode } from '../errors.ts';

export interface Transport {
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
}

function fieldAndProblem(message: string): [string, string] {
  const at = message.indexOf(': ');
  return at < 0 ? ['request', message] : [message.slice(0, at), message.slice(at + 2)];
}

/** The class a local spool would have thrown; a code the server never sends for bad input (INTERNAL) stays a plain Error. */
function remoteError(status: number, code: ErrorCode, message: string, token: string | undefined): Error {
  switch (code) {
    case 'VALIDATION':
      return new ValidationError(...fieldAndProblem(message));
    case 'LEASE_LOST':
      return new LeaseLostError(token ?? 'unknown');
    case 'NOT_FOUND':
      return new NotFoundError(...fieldAndProblem(message));
    case 'EXISTS':
      return new ExistsError(message.replace(/ already exists$/, ''));
    case 'QUEUE_FULL': {
      const match = /queue "(.*)" is full \(maxLength (\d+)\)/.exec(message);
      return new QueueFullError(match?.[1] ?? 'unknown', Number(match?.[2] ?? 0));
    }
    case 'UNAUTHORIZED':
      return new UnauthorizedError(message);
    case 'FORBIDDEN': {
      const match = /may not (\w+) on "(.*)"$/.exec(message);
      return new ForbiddenError(match?.[1] ?? 'request', match?.[2] ?? 'unknown');
    }
    case 'TOO_LARGE':
      return new TooLargeError(Number(/limit of (\d+) bytes/.exec(message)?.[1] ?? 0));
    case 'CLOSED':
      return new ClosedError('server');
    case 'STORAGE':
      return new StorageError(message);
    default:
      return new Error(`spool server: HTTP ${status} ${code}: ${message}`);
  }
}

/** POSTs (or GETs, without a body) JSON; resolves with the answer's JSON, rejects with a SpoolError. */
export async function call<T>(
  transport: Transport,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(transport.base + path, {
      method,
      headers: body === undefined ? transport.headers : { ...transport.headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is in its cause.
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`cannot reach ${transport.base}: ${reason}`, { cause: error });
  }
  const text = await response.text();
  const json = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (response.ok) return json as T;
  const error = (json as { error?: { code?: ErrorCode; message?: string } } | undefined)?.error;
  throw remoteError(
    response.status,
    error?.code ?? 'INTERNAL',
    error?.message ?? `HTTP ${response.status}`,
    (body as { token?: string } | undefined)?.token,
  );
}
