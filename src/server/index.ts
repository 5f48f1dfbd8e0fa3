// `spool/server`: the HTTP server (native /v1 API and BlockQueue's routes) and the Disque
// protocol server (RESP) over any Spool.
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { parseDuration, ValidationError } from '../index.ts';
import type { Duration, Spool } from '../index.ts';
import { tokenGrants } from './http/auth.ts';
import type { Scope, TokenGrant } from './http/auth.ts';
import { httpServer } from './http/app.ts';
import type { HttpServer } from './http/app.ts';
import { respServer } from './resp/server.ts';
import type { RespLogger, RespServer, RespServerOptions as AllRespOptions } from './resp/server.ts';

export type RespServerOptions = Omit<AllRespOptions, 'version'>;

export type { HttpServer, Scope, TokenGrant };
export { tokenGrants };
export type { RespLogger, RespServer };

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
}

export async function createServer(options: ServerOptions): Promise<HttpServer> {
  const bodyLimit = options.bodyLimit ?? 1 << 20;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1024)
    throw new ValidationError('bodyLimit', `must be a whole number of bytes ≥ 1024, got ${String(bodyLimit)}`);
  return httpServer({
    spool: options.spool,
    tokens: tokenGrants(options.tokens ?? [], 'tokens'),
    bodyLimit,
    maxWaitMs: parseDuration(options.maxWait ?? '5m', 'maxWait'),
    logger: options.logger ?? false,
    version: packageVersion(),
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
