// One JSON call to a spool server, and the server's JSON errors turned back into the same
// SpoolError classes a local spool throws, so callers match on `code` the same way.
import { onAbort } from '../core/abort.ts';
import { errorFromDetails, TimeoutError } from '../errors.ts';

export interface Transport {
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  /** How long a request may go without its whole answer, past the time it asks the server to wait. */
  readonly timeoutMs: number;
}

export interface CallOptions {
  /** Aborts the request; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** How long the request asks the server to wait (a long-poll's `wait`), allowed on top of the time-out. */
  readonly waitMs?: number;
}

/**
 * The class a local spool would have thrown, with the same fields, from the answer's `code` and
 * `details` alone; a code this version does not know, or an answer without details (a server
 * from before them) stays a plain Error that says what came.
 */
function remoteError(status: number, answer: unknown): Error {
  const { code, message, details } = ((answer as { error?: unknown } | undefined)?.error ?? {}) as {
    code?: unknown;
    message?: unknown;
    details?: unknown;
  };
  const text = typeof message === 'string' ? message : `HTTP ${status}`;
  return (
    errorFromDetails(code, details, text) ??
    new Error(`spool server: HTTP ${status} ${typeof code === 'string' ? code : 'INTERNAL'}: ${text}`)
  );
}

/**
 * `make(transport)` once per connection: everything made from one connect() shares its transport,
 * and so its one AckBatch and its one Heartbeat.
 */
export function perConnection<T>(make: (transport: Transport) => T): (transport: Transport) => T {
  const made = new WeakMap<Transport, T>();
  return (transport) => {
    let value = made.get(transport);
    if (value === undefined) made.set(transport, (value = make(transport)));
    return value;
  };
}

/** A body already written as JSON, sent as it is. */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * POSTs (or GETs, without a body) JSON; resolves with the answer's JSON, rejects with a SpoolError,
 * or with a TimeoutError when the whole answer has not come within the transport's time-out (and
 * the request's own wait): a server that stopped answering (stopped, overloaded, a network that
 * drops packets without a reset) fails the call instead of holding it for fetch's 5 minutes, or
 * for ever once the answer's headers came.
 */
export async function call<T>(
  transport: Transport,
  method: string,
  path: string,
  body?: unknown,
  { signal, waitMs = 0 }: CallOptions = {},
): Promise<T> {
  const limitMs = transport.timeoutMs + waitMs;
  // One controller for the caller's signal and the time-out; its listener and timer go with the call.
  const controller = new AbortController();
  const abort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted === true) abort();
  const offAbort = signal === undefined || signal.aborted ? () => {} : onAbort(signal, abort);
  let timedOut = false;
  const timer = Number.isFinite(limitMs)
    ? setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, limitMs)
    : undefined;
  let response: Response;
  let text: string;
  try {
    response = await fetch(transport.base + path, {
      method,
      headers: body === undefined ? transport.headers : { ...transport.headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : body instanceof JsonText ? body.text : JSON.stringify(body),
      signal: controller.signal,
    });
    text = await response.text();
  } catch (error) {
    if (signal?.aborted === true) throw error;
    if (timedOut) throw new TimeoutError(`${method} ${transport.base}${path.replace(/\?.*/, '')}`, limitMs);
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, …) is in its cause.
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`cannot reach ${transport.base}: ${reason}`, { cause: error });
  } finally {
    clearTimeout(timer);
    offAbort();
  }
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    // Not spool's answer: a proxy or load balancer in front of it (a 502 page while the server
    // restarts), told as such rather than as JSON.parse's SyntaxError.
    throw new Error(
      `spool server: HTTP ${response.status} from ${transport.base} is not JSON (a proxy's answer?): ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  if (response.ok) return json as T;
  throw remoteError(response.status, json);
}
