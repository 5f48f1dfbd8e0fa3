// `spool serve`: the HTTP server on a store, with pino logs and a graceful stop on SIGTERM /
// SIGINT: stop accepting, answer pending long-polls, finish requests in flight, close the store.
import { pino } from 'pino';
import { open } from '../index.ts';
import { createServer } from '../server/index.ts';
import type { ServeSettings } from './settings.ts';

export async function serve(settings: ServeSettings): Promise<void> {
  const logger = pino({ level: settings.logLevel, base: { pid: process.pid } });
  const spool = await open(settings.store);
  const server = await createServer({
    spool,
    tokens: settings.tokens,
    bodyLimit: settings.bodyLimit,
    maxWait: settings.maxWaitMs,
    idleTimeout: settings.idleTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    ...(settings.maxConnections === null ? {} : { maxConnections: settings.maxConnections }),
    logger,
  });
  const url = await server.app.listen({ host: settings.host, port: settings.port });
  if (settings.tokens.length === 0 && !['127.0.0.1', 'localhost', '::1'].includes(settings.host))
    logger.warn(
      { host: settings.host },
      'no tokens configured and not bound to loopback: anyone who can reach it may use it',
    );
  logger.info({ url, store: settings.store, auth: settings.tokens.length > 0 }, 'spool serving');

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
  await server.close();
  await spool.close();
  logger.info('stopped');
}
