// Throughput and latency benchmark: `npm run bench -- [--store <url>] [--peers bullmq,bee-queue,plainjob]
// [--json] [--quick]`. Each scenario of each system runs in a fresh child process (child.ts).
import { parseArgs } from 'node:util';
import { planRows } from './plan.ts';
import type { Outcome, Row, RowResult } from './plan.ts';
import { redisServerVersion, startRedis } from './redis-server.ts';
import type { RedisPersistence, RedisServer } from './redis-server.ts';
import { buildTables, renderTables } from './report.ts';
import { runChild } from './run-child.ts';
import type { ScenarioId, Sizes } from './scenarios.ts';
import { printSpoolOnly } from './spool-only.ts';
import { peerNames } from './targets.ts';
import type { PeerName, Target } from './targets.ts';

const scenarioLabels: Record<ScenarioId, string> = {
  'enqueue-single': 'enqueue single',
  'enqueue-bulk': 'enqueue bulk',
  'e2e-c1': 'e2e c=1',
  'e2e-c64': 'e2e c=64',
  latency: 'latency',
};

const progress = (text: string): void => {
  process.stderr.write(`\r\x1b[K[bench] ${text}`);
};

function parsePeers(list: string | undefined): PeerName[] {
  if (list === undefined || list === '') return [];
  const names = list.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(peerNames as readonly string[]).includes(name))
      throw new Error(`unknown peer "${name}"; known peers: ${peerNames.join(', ')}`);
  }
  return [...new Set(names)] as PeerName[];
}

function targetFor(row: Row, redis: RedisServer | undefined): Target {
  const { spec } = row;
  if (!('persistence' in spec)) return spec;
  if (!redis) throw new Error(`${spec.system} needs a redis-server`);
  return { system: spec.system, redis: { port: redis.port, durable: redis.durable } };
}

/** Runs every row's scenarios, the Redis-backed rows grouped under one private server per persistence level. */
async function runAll(rows: Row[], sizes: Sizes): Promise<RowResult[]> {
  const results = rows.map((row) => ({ row, outcomes: new Map<ScenarioId, Outcome>() }));
  const total = rows.reduce((sum, row) => sum + row.scenarios.length, 0);
  let done = 0;
  const runRow = async (result: RowResult, redis?: RedisServer): Promise<void> => {
    for (const scenario of result.row.scenarios) {
      progress(`${++done}/${total} ${result.row.name} (${result.row.setup}) ${scenarioLabels[scenario]}`);
      await redis?.flush();
      result.outcomes.set(scenario, await runChild({ target: targetFor(result.row, redis), scenario, sizes }));
    }
  };
  const persistenceOf = (row: Row): RedisPersistence | undefined =>
    'persistence' in row.spec ? row.spec.persistence : undefined;
  for (const result of results) if (persistenceOf(result.row) === undefined) await runRow(result);
  for (const persistence of ['none', 'always'] as const) {
    const group = results.filter((r) => persistenceOf(r.row) === persistence);
    if (group.length === 0) continue;
    progress(`starting redis-server (persistence: ${persistence})`);
    const redis = await startRedis(persistence);
    try {
      for (const result of group) await runRow(result, redis);
    } finally {
      await redis.stop();
    }
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: 'memory:' },
      peers: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
    },
  });
  const peers = parsePeers(values.peers);
  const sizes: Sizes = values.quick
    ? { n: 2_000, latencySamples: 200, idleMs: 50, capMs: 60_000 }
    : { n: 50_000, latencySamples: 2_000, idleMs: 500, capMs: 60_000 };
  const needsRedis = peers.some((p) => p === 'bullmq' || p === 'bee-queue');
  const redisVersion = needsRedis ? redisServerVersion() : undefined;
  if (needsRedis && redisVersion === undefined) throw new Error('bullmq and bee-queue need redis-server on PATH');

  const rows = planRows(values.store, peers, redisVersion);
  let results: RowResult[];
  try {
    results = await runAll(rows, sizes);
  } finally {
    process.stderr.write('\r\x1b[K');
  }

  if (peers.length === 0) {
    printSpoolOnly(values.store, results[0]!, sizes, values.json);
    return;
  }
  const tables = buildTables(results, sizes);
  if (values.json) {
    const plain = tables.map(({ metrics, ...table }) => ({ ...table, metrics: metrics.map((m) => m.key) }));
    console.log(JSON.stringify({ n: sizes.n, latencySamples: sizes.latencySamples, tables: plain }));
  } else {
    console.log(renderTables(tables, sizes.capMs));
  }
  if (results.some((r) => [...r.outcomes.values()].some((o) => !o.ok))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
