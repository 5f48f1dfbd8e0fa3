// graphile-worker with the settings of its performance page (https://worker.graphile.org/docs/performance):
// a pool of 25, a local queue of 500 jobs fetched at once, completions batched per tick. LISTEN/NOTIFY wakes
// an idle worker; its 2 s poll is the fallback. Each system runs in a schema of its own.
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import type { Runner } from 'graphile-worker';
import pg from 'pg';
import type { PostgresTarget } from '../postgres.ts';
import type { Payload, Subject, WorkerEvents } from '../scenarios.ts';
import { graphileWorker } from './settings.ts';
import { versionOf } from './version.ts';

const { maxPoolSize, localQueueSize, completeJobBatchDelay } = graphileWorker;

// graphile-worker logs every job at info level.
const quiet = new Logger(() => (level, message) => {
  // LogLevel is a const enum, which this project's module settings cannot read; its error level is 'error'.
  if ((level as string) === 'error') console.error('graphile-worker:', message);
});

/** Its completion statements delete the jobs' rows: `delete from <schema>._private_jobs`, one id or an array. */
const completion = /^(with j as \(\s*)?delete from \S+\._private_jobs/;

type Query = (config: { text?: string; values?: unknown[] } | string, ...rest: unknown[]) => Promise<unknown>;

/**
 * graphile-worker hands a finished job to its completion batch without awaiting it, and its job:success
 * event comes before the DELETE: count the jobs each completion statement removed, once it returns.
 */
function countCompletions(client: pg.PoolClient, completed: WorkerEvents['completed']): void {
  const target = client as unknown as { query: Query };
  const query = target.query.bind(client);
  target.query = (config, ...rest) => {
    const result = query(config, ...rest);
    if (typeof config === 'object' && config.text !== undefined && completion.test(config.text)) {
      const ids = config.values?.[0];
      void result.then(() => {
        for (let k = Array.isArray(ids) ? ids.length : 1; k > 0; k--) completed();
      });
    }
    return result;
  };
}

export async function openGraphileWorker(postgres: PostgresTarget, name: string): Promise<Subject> {
  const { url: connectionString, schema } = postgres;
  const utils = await makeWorkerUtils({ connectionString, schema, logger: quiet });
  await utils.migrate();
  let runner: Runner | undefined;
  let pool: pg.Pool | undefined;
  return {
    version: `${versionOf('graphile-worker')} (pg ${versionOf('pg')})`,
    durable: postgres.durable,
    add: (data) => utils.addJob(name, data),
    addBulk: (data) => utils.addJobs(data.map((payload) => ({ identifier: name, payload }))),
    async startWorker(concurrency: number, events: WorkerEvents) {
      pool = new pg.Pool({ connectionString, max: maxPoolSize });
      pool.on('error', (error) => console.error('graphile-worker pool:', error.message));
      pool.on('connect', (client) => countCompletions(client, () => events.completed()));
      runner = await run({
        pgPool: pool,
        schema,
        logger: quiet,
        concurrency,
        noHandleSignals: true,
        taskList: { [name]: (payload) => events.started(payload as Payload) },
        preset: {
          worker: {
            localQueue: { size: localQueueSize },
            completeJobBatchDelay,
            failJobBatchDelay: completeJobBatchDelay,
          },
        },
      });
    },
    async close() {
      await runner?.stop();
      await pool?.end();
      await utils.release();
    },
  };
}
