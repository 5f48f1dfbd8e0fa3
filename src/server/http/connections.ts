// How the server holds up under a crowd (issue 20: 712 idle connections under `ulimit -n 512`
// took every descriptor, the file store's next segment failed with EMFILE and stayed failed).
// Node's HTTP server does the work: `headersTimeout` closes a connection that sends no request,
// `keepAliveTimeout` one that sends no next request, `requestTimeout` one whose request trickles
// in, and `maxConnections` closes a socket past the cap as it arrives. None of them counts the
// time an answer takes, so a long-poll waits its full `maxWait`.
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:http';

export interface ConnectionLimits {
  /** Longest a connection may go without sending a request, before its first and between two, in ms. */
  readonly idleTimeoutMs: number;
  /** Longest a request may take to arrive whole, headers and body, in ms. */
  readonly requestTimeoutMs: number;
  /** Most connections open at once. */
  readonly maxConnections: number;
}

/**
 * 1024, or half the process's open-file limit where that is lower: the other half stays with the
 * store (segments, checkpoints, the lock) and the rest of the process. Linux tells the limit in
 * /proc; elsewhere 1024 stands.
 */
export function defaultMaxConnections(): number {
  const fdLimit = openFileLimit();
  return fdLimit === null ? 1024 : Math.max(1, Math.min(1024, Math.floor(fdLimit / 2)));
}

function openFileLimit(): number | null {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined ? null : Number(soft);
  } catch {
    return null;
  }
}

/** fastify's options for the time-outs (`maxConnections` is set on its server once made). */
export function timeoutOptions(limits: ConnectionLimits): {
  keepAliveTimeout: number;
  requestTimeout: number;
  http: ServerOptions;
} {
  const headersTimeout = Math.min(limits.idleTimeoutMs, limits.requestTimeoutMs);
  return {
    keepAliveTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout,
      // Node looks for requests past these time-outs every 30 s by default: a crowd of idle
      // connections would stay up to 30 s longer than asked.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.round(headersTimeout / 2))),
    },
  };
}
