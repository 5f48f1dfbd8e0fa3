// `spool serve`: the HTTP server and/or the Disque protocol server on a store, with pino logs
// and a graceful stop on SIGTERM / SIGINT: stop accepting, answer pending long-polls and blocked
// GETJOBs, finish requests in flight, close the store.
import type { Server } from 'node:http';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { open, redactUrl } from '../index.ts';
import type { Spool } from '../index.ts';
import { fileStoreDir } from '../open.ts';
import { createRespServer, createServer } from '../server/index.ts';
import type { ServerOptions } from '../server/index.ts';
import type { ServeSettings } from './settings.ts';
import { recordServing } from './target.ts';

export async function serve(settings: ServeSettings): Promise<void> {
  const logger = pino({ level: settings.logLevel, base: { pid: process.pid } });
  for (const note of settings.notes) logger.warn({ config: note }, 'config setting without effect in spool');
  const spool = await open(settings.store);
  const servers: { close(): Promise<void> }[] = [];
  let forget = (): void => {};
  const store = redactUrl(settings.store);
  const exposed = (host: string): void => {
    if (settings.tokens.length === 0 && !['127.0.0.1', 'localhost', '::1'].includes(host))
      logger.warn({ host }, 'no tokens configured and not bound to loopback: anyone who can reach it may use it');
  };
  // Whatever started is stopped on the way out, a signal's or a failed start's (a port in use):
  // a serve whose RESP port was taken went on serving HTTP without signal handlers, and one whose
  // HTTP port was taken left the data directory's LOCK behind.
  try {
    const http = settings.http ? await createServer(httpOptions(settings, spool, logger)) : null;
    if (http !== null) servers.push(http);
    const resp =
      settings.resp === null
        ? null
        : createRespServer({ spool, tokens: settings.tokens, maxWait: settings.maxWaitMs, logger });
    if (resp !== null) servers.push(resp);
    // Every listener is up before anything is said or recorded: a failed start prints one line, its failure.
    const url = http === null ? null : await listen(http.app.server, settings.host, settings.port);
    const bound =
      resp === null || settings.resp === null ? null : await resp.listen(settings.resp.port, settings.resp.host);
    const respAddress = bound === null ? null : `${bound.host}:${bound.port}`;
    // Commands run on the data directory this process holds come here instead, or, with no HTTP
    // to come to, say so (cli/target.ts).
    const dir = fileStoreDir(settings.store);
    if (dir !== null) forget = recordServing(dir, { url: url === null ? null : reachable(url), resp: respAddress });
    if (url !== null) {
      exposed(settings.host);
      // The one start-up line: what was opened (its password masked) and where it listens.
      logger.info({ url, store, auth: settings.tokens.length > 0, accessLog: settings.accessLog }, 'spool serving');
    }
    if (resp !== null && bound !== null) {
      exposed(bound.host);
      logger.info(
        { resp: respAddress, nodeId: resp.nodeId, store, auth: settings.tokens.length > 0 },
        'spool serving the Disque protocol',
      );
    }
    logger.info({ signal: await stopSignal() }, 'stopping');
  } finally {
    forget();
    await Promise.all(servers.map((server) => server.close()));
    await spool.close();
  }
  logger.info('stopped');
}

function httpOptions(settings: ServeSettings, spool: Spool, logger: Logger): ServerOptions {
  return {
    spool,
    tokens: settings.tokens,
    bodyLimit: settings.bodyLimit,
    maxWait: settings.maxWaitMs,
    idleTimeout: settings.idleTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    ...(settings.maxConnections === null ? {} : { maxConnections: settings.maxConnections }),
    logger,
    accessLog: settings.accessLog,
  };
}

/** The first SIGTERM or SIGINT; a second one while closing ends the process the default way. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      resolve(signal);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** `url` with a wildcard host (every interface) replaced by the loopback address a local command can reach. */
const reachable = (url: string): string => url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');

/**
 * Listens on the ready app's own node server rather than through fastify's listen(), which logs
 * a line of its own for every address (one per interface on 0.0.0.0) before ours.
 */
async function listen(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') return String(address);
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
