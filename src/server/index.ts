// `spool/server`: the HTTP server (native /v1 API and BlockQueue's routes) over any Spool.
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { parseDuration, ValidationError } from '../index.ts';
import type { Duration, Spool } from '../index.ts';
import { tokenGrants } from './http/auth.ts';
import type { Scope, TokenGrant } from './http/auth.ts';
import { httpServer } from './http/app.ts';
import type { HttpServer } from './http/app.ts';

export type { HttpServer, Scope, TokenGrant };
export { tokenGrants };

export interface ServerOptions {
  spool: Spool;
  /** Bearer tokens; none means no auth, so keep the server on 127.0.0.1. */
  tokens?: readonly TokenGrant[];
  /** Largest request body in bytes; default 1 MiB (batch routes: 8 times that). */
  bodyLimit?: number;
  /** Longest long-poll; default 5 minutes. */
  maxWait?: Duration;
  /** A pino logger, or false (the default) for none. */
  logger?: FastifyBaseLogger | false;
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
  const metricsQueues: readonly unknown[] = options.metricsQueues ?? [];
  if (!Array.isArray(metricsQueues)) throw new ValidationError('metricsQueues', 'must be an array of queue names');
  return httpServer({
    spool: options.spool,
    tokens: tokenGrants(options.tokens ?? [], 'tokens'),
    bodyLimit,
    maxWaitMs: parseDuration(options.maxWait ?? '5m', 'maxWait'),
    logger: options.logger ?? false,
    version: packageVersion(),
    // Checked here, once: a bad name fails at start-up, not at every scrape.
    metricsQueues: metricsQueues.map((name) => options.spool.queue(name as string).name),
  });
}

function packageVersion(): string {
  // src/server/ and dist/server/ both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
