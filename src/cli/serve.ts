// `spool serve`: the HTTP server and/or the Disque protocol server on a store, with pino logs
// and a graceful stop on SIGTERM / SIGINT: stop accepting, answer pending long-polls and blocked
// GETJOBs, finish requests in flight, close the store.
import type { Server } from 'node:http';
import { pino } from 'pino';
import { open, redactUrl } from '../index.ts';
import { fileStoreDir } from '../open.ts';
import { createRespServer, createServer } from '../server/index.ts';
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
  if (settings.http) {
    const server = await createServer({
      spool,
      tokens: settings.tokens,
      bodyLimit: settings.bodyLimit,
      maxWait: settings.maxWaitMs,
      idleTimeout: settings.idleTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      ...(settings.maxConnections === null ? {} : { maxConnections: settings.maxConnections }),
      logger,
      accessLog: settings.accessLog,
    });
    servers.push(server);
    const url = await listen(server.app.server, settings.host, settings.port);
    exposed(settings.host);
    // Commands run on the data directory this process holds come here instead (cli/target.ts).
    const dir = fileStoreDir(settings.store);
    if (dir !== null) forget = recordServing(dir, reachable(url));
    // The one start-up line: what was opened (its password masked) and where it listens.
    logger.info({ url, store, auth: settings.tokens.length > 0, accessLog: settings.accessLog }, 'spool serving');
  }
  if (settings.resp !== null) {
    const server = createRespServer({ spool, tokens: settings.tokens, maxWait: settings.maxWaitMs, logger });
    servers.push(server);
    const { host, port } = await server.listen(settings.resp.port, settings.resp.host);
    exposed(host);
    logger.info(
      { resp: `${host}:${port}`, nodeId: server.nodeId, store, auth: settings.tokens.length > 0 },
      'spool serving the Disque protocol',
    );
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping');
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      // A second signal while closing ends the process the default way.
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  forget();
  await Promise.all(servers.map((server) => server.close()));
  await spool.close();
  logger.info('stopped');
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
