// The Postgres-backed peers' tuning, read by their adapters and printed in their rows' setup by the parent,
// which does not load the peers themselves.

/** pg-boss's minimum polling interval; the handler wakes its worker after each batch besides. */
export const pgBossPollingIntervalSeconds = 0.5;

/** From https://worker.graphile.org/docs/performance: a pool of 25, a local queue of 500, batched completions. */
export const graphileWorker = { maxPoolSize: 25, localQueueSize: 500, completeJobBatchDelay: 0 } as const;

export const pgBossSetup = `poll ${pgBossPollingIntervalSeconds} s + notifyWorker after each batch, batchSize=c`;
export const graphileWorkerSetup = `pool ${graphileWorker.maxPoolSize}, localQueue ${graphileWorker.localQueueSize}, completeJobBatchDelay ${graphileWorker.completeJobBatchDelay}`;
