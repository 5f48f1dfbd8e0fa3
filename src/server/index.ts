// `spool/server`: the HTTP server (native /v1 API and BlockQueue's routes) and the Disque
// protocol server (RESP) over any Spool.
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { parseDuration, ValidationError } from '../index.ts';
import type { Duration, Spool } from '../index.ts';
import { tokenGrants } from './http/auth.ts';
import type { Scope, TokenGrant } from './http/auth.ts';
import { httpServer } from './http/app.ts';
import { defaultMaxConnections } from './http/connections.ts';
import type { HttpServer } from './http/app.ts';
import { respServer } from './resp/server.ts';
import type { RespLogger, RespServer, RespServerOptions as AllRespOptions } from './resp/server.ts';

export type RespServerOptions = Omit<AllRespOptions, 'version'>;

export type { HttpServer, Scope, TokenGrant };
export { tokenGrants };
export { settingsJson } from './http/queue-settings.ts';
export type { RespLogger, RespServer };

export interface ServerOptions {
  spool: Spool;
  /** Bearer tokens; none means no auth, so keep the server on 127.0.0.1. */
  tokens?: readonly TokenGrant[];
  /** Largest request body in bytes; default 1 MiB (batch routes: 8 times that). */
  bodyLimit?: number;
  /** Longest long-poll; default 5 minutes. */
  maxWait?: Duration;
  /**
   * A connection that sends no request for this long is closed: before its first request's
   * headers are in, and between two requests. Default 5s.
   */
  idleTimeout?: Duration;
  /** A request must arrive whole, headers and body, within this; default 30s. Answers (long-polls) may take longer. */
  requestTimeout?: Duration;
  /**
   * Most connections open at once; one more is closed as it arrives. Default 1024, or half the
   * process's open-file limit where that is lower, so that a crowd cannot take the store's descriptors.
   */
  maxConnections?: number;
  /** A pino logger, or false (the default) for none. */
  logger?: FastifyBaseLogger | false;
  /** A line per request (method, route, status, ms) at info; default false: at debug. */
  accessLog?: boolean;
  /**
   * Queues whose counts /metrics reports from the start; it adds every queue the server sees
   * used. (The store keeps no list of queues yet.)
   */
  metricsQueues?: readonly string[];
}

export async function createServer(options: ServerOptions): Promise<HttpServer> {
  const bodyLimit = options.bodyLimit ?? 1 << 20;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1024)
    throw new ValidationError('bodyLimit', `must be a whole number of bytes ≥ 1024, got ${String(bodyLimit)}`);
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  if (!Number.isSafeInteger(maxConnections) || maxConnections < 1)
    throw new ValidationError('maxConnections', `must be a whole number ≥ 1, got ${String(maxConnections)}`);
  const metricsQueues: readonly unknown[] = options.metricsQueues ?? [];
  if (!Array.isArray(metricsQueues)) throw new ValidationError('metricsQueues', 'must be an array of queue names');
  return httpServer({
    spool: options.spool,
    tokens: tokenGrants(options.tokens ?? [], 'tokens'),
    bodyLimit,
    maxWaitMs: parseDuration(options.maxWait ?? '5m', 'maxWait'),
    limits: {
      idleTimeoutMs: parseDuration(options.idleTimeout ?? '5s', 'idleTimeout', { positive: true }),
      requestTimeoutMs: parseDuration(options.requestTimeout ?? '30s', 'requestTimeout', { positive: true }),
      maxConnections,
    },
    logger: options.logger ?? false,
    accessLog: options.accessLog ?? false,
    version: packageVersion(),
    // Checked here, once: a bad name fails at start-up, not at every scrape.
    metricsQueues: metricsQueues.map((name) => options.spool.queue(name as string).name),
  });
}

/** The Disque protocol server: RESP2 on `net`, Disque's job commands over `options.spool`. */
export function createRespServer(options: RespServerOptions): RespServer {
  return respServer({ ...options, version: packageVersion() });
}

function packageVersion(): string {
  // src/server/ and dist/server/ both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
