// Throughput and latency benchmark: `npm run bench -- [--store <url>]… [--peers bullmq,bee-queue,plainjob,pg-boss,graphile-worker]
// [--prefetch 0,500] [--pg <url>] [--runs k] [--scenarios e2e-c64,latency,lease-depth] [--payload-bytes 100] [--json] [--quick]`. Each scenario of each system runs in a fresh child process (child.ts).
import { parseBenchArgs } from './args.ts';
import { combineRuns } from './median.ts';
import { planRows } from './plan.ts';
import {
  describePostgres,
  dropSchema,
  isPostgresStore,
  postgresDurability,
  serverUrl,
  spoolOnPostgres,
} from './postgres.ts';
import type { PostgresInfo } from './postgres.ts';
import type { Outcome, Row, RowResult } from './plan.ts';
import { redisServerVersion, startRedis } from './redis-server.ts';
import type { RedisPersistence, RedisServer } from './redis-server.ts';
import { buildTables, renderTables } from './report.ts';
import { runChild } from './run-child.ts';
import type { ScenarioId, Sizes } from './scenarios.ts';
import { printSpoolOnly } from './spool-only.ts';
import type { PostgresPeer, Target } from './targets.ts';

const scenarioLabels: Record<ScenarioId, string> = {
  'enqueue-single': 'enqueue single',
  'enqueue-bulk': 'enqueue bulk',
  'e2e-c1': 'e2e c=1',
  'e2e-c64': 'e2e c=64',
  latency: 'latency',
  'lease-depth': 'lease depth',
};

/** Each Postgres-backed peer in a schema of its own, dropped before each of its runs. */
export const peerSchemas: Record<PostgresPeer, string> = {
  'pg-boss': 'spool_bench_pg_boss',
  'graphile-worker': 'spool_bench_graphile_worker',
};

/** The PostgreSQL server the Postgres-backed rows share. */
interface PostgresServer {
  url: string;
  info: PostgresInfo;
}

const progress = (text: string): void => {
  process.stderr.write(`\r\x1b[K[bench] ${text}`);
};

/** A `redis://` store URL moved onto the private server: its path (db) and query (prefix) stay. */
const onPrivateServer = (store: string, port: number): string =>
  store.replace(/^rediss?:\/\/[^/?#]*/i, () => `redis://127.0.0.1:${port}`);

/** What a row's child opens; a Postgres-backed row's schema is dropped first, so every run starts clean. */
async function prepare(
  row: Row,
  redis: RedisServer | undefined,
  postgres: PostgresServer | undefined,
): Promise<Target> {
  const { spec } = row;
  if (spec.system === 'plainjob') return spec;
  if (spec.system === 'pg-boss' || spec.system === 'graphile-worker') {
    if (!postgres) throw new Error(`${spec.system} needs a PostgreSQL server`);
    const target = {
      url: serverUrl(postgres.url),
      schema: peerSchemas[spec.system],
      durable: postgresDurability(postgres.info),
    };
    await dropSchema(target.url, target.schema);
    return { system: spec.system, postgres: target };
  }
  if (spec.system === 'spool')
    return { system: 'spool', store: await spoolStore(spec, redis), prefetch: spec.prefetch ?? 0 };
  if (!redis) throw new Error(`${spec.system} needs a redis-server`);
  return { system: spec.system, redis: { port: redis.port, durable: redis.durable } };
}

/** The store URL spool's row opens: on PostgreSQL in a schema dropped first, beside the Redis peers on their private server. */
async function spoolStore(
  spec: Extract<Row['spec'], { system: 'spool' }>,
  redis: RedisServer | undefined,
): Promise<string> {
  if (isPostgresStore(spec.store)) {
    const { store, schema } = spoolOnPostgres(spec.store);
    await dropSchema(store, schema);
    return store;
  }
  if (spec.persistence === undefined) return spec.store;
  if (!redis) throw new Error('spool needs a redis-server');
  return onPrivateServer(spec.store, redis.port);
}

/**
 * Runs every row's scenarios, the Redis-backed rows under one private server per persistence level. With
 * several runs the rounds interleave, so that a busy moment of the machine does not fall on one system only.
 */
async function runAll(rows: Row[], sizes: Sizes, runs: number, postgres?: PostgresServer): Promise<RowResult[]> {
  const collected = rows.map((row) => ({ row, runs: new Map<ScenarioId, Outcome[]>() }));
  const total = runs * rows.reduce((sum, row) => sum + row.scenarios.length, 0);
  let done = 0;
  const runRow = async (entry: (typeof collected)[number], redis?: RedisServer): Promise<void> => {
    for (const scenario of entry.row.scenarios) {
      progress(`${++done}/${total} ${entry.row.name} (${entry.row.setup}) ${scenarioLabels[scenario]}`);
      await redis?.flush();
      const memoryBefore = scenario === 'enqueue-bulk' ? await redis?.usedMemory() : undefined;
      let outcome = await runChild({ target: await prepare(entry.row, redis, postgres), scenario, sizes });
      if (redis && memoryBefore !== undefined && outcome.ok) {
        const grown = (await redis.usedMemory()) - memoryBefore;
        // The warm-up's jobs wait in the same server, as the measured ones do.
        outcome = { ...outcome, serverBytesPerJob: grown / (outcome.figures.jobs + sizes.warmup) };
      }
      entry.runs.set(scenario, [...(entry.runs.get(scenario) ?? []), outcome]);
    }
  };
  const persistenceOf = (row: Row): RedisPersistence | undefined =>
    'persistence' in row.spec ? row.spec.persistence : undefined;
  for (let round = 0; round < runs; round++) {
    for (const entry of collected) if (persistenceOf(entry.row) === undefined) await runRow(entry);
    for (const persistence of ['none', 'always'] as const) {
      const group = collected.filter((e) => persistenceOf(e.row) === persistence);
      if (group.length === 0) continue;
      progress(`starting redis-server (persistence: ${persistence})`);
      const redis = await startRedis(persistence);
      try {
        for (const entry of group) await runRow(entry, redis);
      } finally {
        await redis.stop();
      }
    }
  }
  return collected.map(({ row, runs: all }) => ({
    row,
    outcomes: new Map([...all].map(([scenario, outcomes]) => [scenario, combineRuns(outcomes)])),
  }));
}

async function main(): Promise<void> {
  const {
    stores,
    prefetch,
    peers,
    peerDatabase,
    scenarios: only,
    runs,
    sizes,
    json,
  } = parseBenchArgs(process.argv.slice(2));
  const needsRedis = peers.some((p) => p === 'bullmq' || p === 'bee-queue');
  const redisVersion = needsRedis ? redisServerVersion() : undefined;
  if (needsRedis && redisVersion === undefined) throw new Error('bullmq and bee-queue need redis-server on PATH');
  const postgres =
    peerDatabase === undefined ? undefined : { url: peerDatabase, info: await describePostgres(peerDatabase) };

  const rows = planRows(stores, peers, redisVersion, postgres?.info, prefetch)
    .map((row) => ({ ...row, scenarios: row.scenarios.filter((id) => only.includes(id)) }))
    .filter((row) => row.scenarios.length > 0);
  let results: RowResult[];
  try {
    results = await runAll(rows, sizes, runs, postgres);
  } finally {
    process.stderr.write('\r\x1b[K');
  }

  if (peers.length === 0 && stores.length === 1) {
    printSpoolOnly(stores[0]!, results[0]!, sizes, json);
    return;
  }
  const tables = buildTables(results, sizes);
  if (json) {
    const plain = tables.map(({ metrics, ...table }) => ({ ...table, metrics: metrics.map((m) => m.key) }));
    console.log(
      JSON.stringify({
        n: sizes.n,
        latencySamples: sizes.latencySamples,
        payloadBytes: sizes.payloadBytes,
        warmup: sizes.warmup,
        runs,
        tables: plain,
      }),
    );
  } else {
    console.log(`Payloads: ${sizes.payloadBytes} bytes of JSON each.`);
    console.log(
      `The enqueue scenarios add ${sizes.warmup.toLocaleString('en-US')} jobs first, unmeasured, the same way; the latency scenario serves ${Math.min(sizes.warmup, sizes.latencySamples).toLocaleString('en-US')} first.\n`,
    );
    if (runs > 1) console.log(`Each figure is the median of ${runs} runs.\n`);
    console.log(renderTables(tables));
  }
  if (results.some((r) => [...r.outcomes.values()].some((o) => !o.ok))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
