// Throughput and latency benchmark: `npm run bench -- [--store <url>]… [--peers bullmq,bee-queue,plainjob]
// [--runs k] [--scenarios e2e-c64,latency] [--payload-bytes 100] [--json] [--quick]`. Each scenario of each system runs in a fresh child process (child.ts).
import { parseArgs } from 'node:util';
import { combineRuns } from './median.ts';
import { planRows } from './plan.ts';
import type { Outcome, Row, RowResult } from './plan.ts';
import { redisServerVersion, startRedis } from './redis-server.ts';
import type { RedisPersistence, RedisServer } from './redis-server.ts';
import { buildTables, renderTables } from './report.ts';
import { runChild } from './run-child.ts';
import { minPayloadBytes, scenarioIds } from './scenarios.ts';
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

function parseScenarios(list: string | undefined): readonly ScenarioId[] {
  if (list === undefined || list === '') return scenarioIds;
  const names = list.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(scenarioIds as readonly string[]).includes(name))
      throw new Error(`unknown scenario "${name}"; known scenarios: ${scenarioIds.join(', ')}`);
  }
  return scenarioIds.filter((id) => names.includes(id));
}

/** A `redis://` store URL moved onto the private server: its path (db) and query (prefix) stay. */
const onPrivateServer = (store: string, port: number): string =>
  store.replace(/^rediss?:\/\/[^/?#]*/i, () => `redis://127.0.0.1:${port}`);

function targetFor(row: Row, redis: RedisServer | undefined): Target {
  const { spec } = row;
  if (spec.system === 'plainjob') return spec;
  if (spec.persistence === undefined) return { system: spec.system, store: spec.store };
  if (!redis) throw new Error(`${spec.system} needs a redis-server`);
  if (spec.system === 'spool') return { system: 'spool', store: onPrivateServer(spec.store, redis.port) };
  return { system: spec.system, redis: { port: redis.port, durable: redis.durable } };
}

/**
 * Runs every row's scenarios, the Redis-backed rows under one private server per persistence level. With
 * several runs the rounds interleave, so that a busy moment of the machine does not fall on one system only.
 */
async function runAll(rows: Row[], sizes: Sizes, runs: number): Promise<RowResult[]> {
  const collected = rows.map((row) => ({ row, runs: new Map<ScenarioId, Outcome[]>() }));
  const total = runs * rows.reduce((sum, row) => sum + row.scenarios.length, 0);
  let done = 0;
  const runRow = async (entry: (typeof collected)[number], redis?: RedisServer): Promise<void> => {
    for (const scenario of entry.row.scenarios) {
      progress(`${++done}/${total} ${entry.row.name} (${entry.row.setup}) ${scenarioLabels[scenario]}`);
      await redis?.flush();
      const memoryBefore = scenario === 'enqueue-bulk' ? await redis?.usedMemory() : undefined;
      let outcome = await runChild({ target: targetFor(entry.row, redis), scenario, sizes });
      if (redis && memoryBefore !== undefined && outcome.ok) {
        const grown = (await redis.usedMemory()) - memoryBefore;
        outcome = { ...outcome, serverBytesPerJob: grown / outcome.figures.jobs };
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
  const { values } = parseArgs({
    options: {
      // Several --store flags put several spool rows in the same tables (file, sqlite, leveldb side by side).
      store: { type: 'string', multiple: true, default: ['memory:'] },
      peers: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      scenarios: { type: 'string' },
      'payload-bytes': { type: 'string', default: '100' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, got "${values.runs}"`);
  const peers = parsePeers(values.peers);
  const payloadBytes = Number(values['payload-bytes']);
  if (!Number.isInteger(payloadBytes) || payloadBytes < minPayloadBytes || payloadBytes > 1 << 20)
    throw new Error(
      `--payload-bytes must be a whole number from ${minPayloadBytes} to 1048576, got "${values['payload-bytes']}"`,
    );
  const sizes: Sizes = values.quick
    ? { n: 2_000, latencySamples: 200, idleMs: 50, capMs: 60_000, payloadBytes }
    : { n: 50_000, latencySamples: 2_000, idleMs: 500, capMs: 60_000, payloadBytes };
  const needsRedis = peers.some((p) => p === 'bullmq' || p === 'bee-queue');
  const redisVersion = needsRedis ? redisServerVersion() : undefined;
  if (needsRedis && redisVersion === undefined) throw new Error('bullmq and bee-queue need redis-server on PATH');

  const only = parseScenarios(values.scenarios);
  const rows = planRows(values.store, peers, redisVersion)
    .map((row) => ({ ...row, scenarios: row.scenarios.filter((id) => only.includes(id)) }))
    .filter((row) => row.scenarios.length > 0);
  let results: RowResult[];
  try {
    results = await runAll(rows, sizes, runs);
  } finally {
    process.stderr.write('\r\x1b[K');
  }

  if (peers.length === 0 && values.store.length === 1) {
    printSpoolOnly(values.store[0]!, results[0]!, sizes, values.json);
    return;
  }
  const tables = buildTables(results, sizes);
  if (values.json) {
    const plain = tables.map(({ metrics, ...table }) => ({ ...table, metrics: metrics.map((m) => m.key) }));
    console.log(
      JSON.stringify({ n: sizes.n, latencySamples: sizes.latencySamples, payloadBytes, runs, tables: plain }),
    );
  } else {
    console.log(`Payloads: ${payloadBytes} bytes of JSON each.\n`);
    if (runs > 1) console.log(`Each figure is the median of ${runs} runs.\n`);
    console.log(renderTables(tables, sizes.capMs));
  }
  if (results.some((r) => [...r.outcomes.values()].some((o) => !o.ok))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
