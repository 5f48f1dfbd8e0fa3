// The benchmark runs end to end with its peers and prints the rows it promises; no timing is asserted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import pg from 'pg';
import { parseBenchArgs } from '../bench/args.ts';
import { planRows } from '../bench/plan.ts';
import type { Outcome, Row, RowResult } from '../bench/plan.ts';
import { postgresDurability, serverUrl, spoolOnPostgres } from '../bench/postgres.ts';
import type { PostgresInfo } from '../bench/postgres.ts';
import { redisServerVersion } from '../bench/redis-server.ts';
import { combineRuns } from '../bench/median.ts';
import { buildTables, renderTables } from '../bench/report.ts';
import type { Table } from '../bench/report.ts';
import { runScenario } from '../bench/scenarios.ts';
import type { Payload, ScenarioId, Sizes, Subject } from '../bench/scenarios.ts';

const hasRedis = redisServerVersion() !== undefined;
const needRedis = 'needs redis-server on PATH (Debian: apt-get install redis-server)';
if (!hasRedis && process.env.SPOOL_CI === '1') throw new Error(`test/bench.test.ts ${needRedis}`);

/** Runs `npm run bench -- <args>` with a private TMPDIR, which must be empty again afterwards. */
function bench(args: string[]): { stdout: string; leftovers: string[] } {
  const tmp = mkdtempSync(join(tmpdir(), 'spool-bench-test-'));
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: tmp },
      timeout: 240_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return { stdout: run.stdout, leftovers: readdirSync(tmp).filter((name) => name.startsWith('spool-bench-')) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

void test('the latency scenario serves up to --warmup jobs at its pace first, unmeasured, then times its samples and its adds', async () => {
  let started: ((data: Payload) => void) | undefined;
  const added: number[] = [];
  const subject: Subject = {
    version: '0',
    durable: 'none',
    add: (data) => {
      added.push(data.i);
      // The warm-up's jobs start late: were they measured, p99 would show it.
      const late = added.length <= 3 ? 40 : 0;
      setTimeout(() => started?.({ ...data, ts: data.ts - late }), 0);
      // The warm-up's adds are slower still, and one timed add takes 25 ms to be in.
      const commitMs = added.length <= 3 ? 60 : added.length === 7 ? 25 : 0;
      return new Promise((resolve) => setTimeout(resolve, commitMs));
    },
    addBulk: () => Promise.resolve(),
    startWorker: (_concurrency, events) => {
      started = (data) => events.started(data);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const latency = await runScenario(() => Promise.resolve(subject), 'q', 'latency', { ...sizes, warmup: 3 });
  assert.deepEqual(added, [0, 1, 2, 0, 1, 2, 3, 4]);
  assert.equal(latency.figures.kind === 'latency' && latency.figures.jobs, 5);
  assert.ok(latency.figures.kind === 'latency' && latency.figures.p99Ms < 40, JSON.stringify(latency.figures));
  const { addP99Ms } = latency.figures;
  assert.ok(addP99Ms >= 20 && addP99Ms < 60, `the slow timed add, not the warm-up's: ${addP99Ms}`);
  const cold = await runScenario(() => Promise.resolve(subject), 'q', 'latency', sizes);
  assert.equal(cold.figures.kind === 'latency' && cold.figures.jobs, 5);
});

type JsonTable = Omit<Table, 'metrics'> & { metrics: string[] };

/** Sizes for the tests that build tables from made-up outcomes. */
const sizes: Sizes = {
  n: 10,
  latencySamples: 5,
  idleMs: 0,
  capMs: 60_000,
  payloadBytes: 100,
  warmup: 0,
  depth: { shallow: 2_000, deep: 500_000, leased: 1_000, capMs: 20_000 },
};

// The bench runs the built package (dist/), as `npm run bench` does after its build: build it
// here too, so these tests never measure a stale or missing build (npm ci builds nothing).
before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(build.status, 0, build.stdout + build.stderr);
});

void test('without --peers the bench prints spool’s figures as one JSON object, as before', () => {
  const { stdout } = bench(['--quick', '--json']);
  const results = JSON.parse(stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(results).sort(), [
    'e2eC1PerSec',
    'e2eC64PerSec',
    'enqueueBulkPerSec',
    'enqueueSinglePerSec',
    'latencyAddP99Ms',
    'latencyP50Ms',
    'latencyP99Ms',
    'latencySamples',
    'n',
    'payloadBytes',
    'peakRssMb',
    'store',
    'warmup',
  ]);
  assert.equal(results.store, 'memory:');
  assert.equal(results.n, 2_000);
  assert.equal(results.payloadBytes, 100);
  for (const [key, value] of Object.entries(results)) if (key !== 'store') assert.ok(Number(value) > 0, key);
});

// One quick run with the peers serves the tests below; bullmq joins when a redis-server can be started.
const peers = hasRedis ? ['plainjob', 'bullmq'] : ['plainjob'];
let run: { tables: JsonTable[]; leftovers: string[] } | undefined;
before(() => {
  const { stdout, leftovers } = bench(['--quick', '--json', '--peers', peers.join(',')]);
  const { n, tables } = JSON.parse(stdout) as { n: number; tables: JsonTable[] };
  assert.equal(n, 2_000);
  run = { tables, leftovers };
});

/** Each table's rows as [system name, setup, durability], checked with their figures and ratios. */
function rowsOf(table: JsonTable): string[][] {
  for (const [index, row] of table.rows.entries()) {
    assert.equal(row.error, undefined, `${table.id} ${row.system} ${row.setup}`);
    for (const metric of table.metrics as 'jobsPerSec'[]) {
      const value = row.values[metric]!;
      assert.ok(value > 0, `${table.id} ${row.setup} ${metric}`);
      assert.equal(row.ratios[metric], index === 0 ? undefined : table.rows[0]!.values[metric]! / value);
    }
  }
  return table.rows.map((r) => [r.system.split(' ')[0]!, r.setup, r.durability]);
}

const powerSafe = 'durable (survives power loss)';
const crashSafe = 'survives a process crash, not a power cut';

void test('--payload-bytes sizes the payloads, and refuses a size below the JSON around the pad', () => {
  const { stdout } = bench(['--quick', '--json', '--scenarios', 'enqueue-bulk', '--payload-bytes', '4096']);
  const results = JSON.parse(stdout) as { payloadBytes: number; enqueueBulkPerSec: number };
  assert.equal(results.payloadBytes, 4096);
  assert.ok(results.enqueueBulkPerSec > 0);
  const refused = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', '--payload-bytes', '10'], {
    encoding: 'utf8',
  });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--payload-bytes must be a whole number from \d+ to 1048576, got "10"/);
});

void test('the enqueue scenarios add --warmup jobs first through the same calls, and time only the N after', async () => {
  const calls = { add: 0, bulk: 0 };
  const subject: Subject = {
    version: '0',
    durable: 'none',
    add: () => Promise.resolve(calls.add++),
    addBulk: (data) => Promise.resolve((calls.bulk += data.length)),
    startWorker: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const warm = { ...sizes, n: 3_000, warmup: 2_500 };
  const single = await runScenario(() => Promise.resolve(subject), 'q', 'enqueue-single', warm);
  const bulk = await runScenario(() => Promise.resolve(subject), 'q', 'enqueue-bulk', warm);
  assert.deepEqual(calls, { add: 5_500, bulk: 5_500 });
  assert.equal(single.figures.jobs, 3_000);
  assert.equal(bulk.figures.jobs, 3_000);
  assert.equal(parseBenchArgs([]).sizes.warmup, 10_000);
  assert.equal(parseBenchArgs(['--quick']).sizes.warmup, 1_000);
  assert.equal(parseBenchArgs(['--warmup', '0']).sizes.warmup, 0);
  assert.throws(() => parseBenchArgs(['--warmup=-1']), /--warmup must be a whole number ≥ 0, got "-1"/);
});

void test('--peers: one table per scenario, spool first, every ratio spool/peer, no temp dir left behind', () => {
  const { tables, leftovers } = run!;
  assert.deepEqual(leftovers, []);
  assert.deepEqual(
    tables.map((t) => t.id),
    ['enqueue-single', 'enqueue-bulk', 'e2e-c1', 'e2e-c64', 'latency', 'peak-rss'],
  );
  for (const table of tables) assert.deepEqual(rowsOf(table)[0], ['spool', 'memory:', 'not durable'], table.id);
});

void test('--peers plainjob: rows for synchronous=FULL and NORMAL, and the tuned poll in the latency table', () => {
  for (const table of run!.tables) {
    const plainjob = rowsOf(table).filter(([name]) => name === 'plainjob');
    const expected = [
      ['plainjob', 'SQLite WAL synchronous=FULL, poll 1000 ms', powerSafe],
      ['plainjob', 'SQLite WAL synchronous=NORMAL, poll 1000 ms', crashSafe],
    ];
    if (table.id === 'latency' || table.id === 'peak-rss')
      expected.push(
        ['plainjob', 'SQLite WAL synchronous=FULL, poll 10 ms', powerSafe],
        ['plainjob', 'SQLite WAL synchronous=NORMAL, poll 10 ms', crashSafe],
      );
    assert.deepEqual(plainjob, expected, table.id);
  }
});

void test(
  '--peers bullmq: rows on a private redis-server without persistence and with appendfsync always',
  { skip: hasRedis ? false : `skipped: ${needRedis}` },
  () => {
    const redis = `Redis ${redisServerVersion()}`;
    for (const table of run!.tables) {
      const bullmq = rowsOf(table).filter(([name]) => name === 'BullMQ');
      const expected = [
        ['BullMQ', `${redis}, no persistence`, 'not durable'],
        ['BullMQ', `${redis}, AOF appendfsync always`, powerSafe],
      ];
      assert.deepEqual(bullmq, expected, table.id);
    }
  },
);

void test('spool on redis:// beside the Redis peers: a row per private server, each peer compared with spool on the same one', () => {
  const rows = planRows('redis://10.0.0.1:6379/2?prefix=b', ['bullmq'], '7.0.15');
  assert.deepEqual(
    rows.map((r) => [r.name, r.setup, 'persistence' in r.spec ? r.spec.persistence : undefined]),
    [
      ['spool', 'Redis 7.0.15, no persistence', 'none'],
      ['spool', 'Redis 7.0.15, AOF appendfsync always', 'always'],
      ['BullMQ', 'Redis 7.0.15, no persistence', 'none'],
      ['BullMQ', 'Redis 7.0.15, AOF appendfsync always', 'always'],
    ],
  );
  // Without Redis peers there is no private server: spool runs on the URL it was given.
  assert.deepEqual(planRows('redis://10.0.0.1:6379', ['plainjob'], undefined)[0]?.spec, {
    system: 'spool',
    store: 'redis://10.0.0.1:6379',
  });
  const outcome = (jobsPerSec: number): Extract<Outcome, { ok: true }> => ({
    ok: true,
    version: '1.0.0',
    durable: 'none',
    figures: { kind: 'throughput', jobsPerSec, jobs: 10, capped: false },
    peakRssMb: 50,
  });
  const figures = [100, 30, 50, 10];
  const bytes = [400, 420, 800, 600];
  const tables = buildTables(
    rows.map((row, i) => ({
      row,
      outcomes: new Map<ScenarioId, Outcome>([
        ['e2e-c64', outcome(figures[i]!)],
        ['enqueue-bulk', { ...outcome(1), serverBytesPerJob: bytes[i]! }],
      ]),
    })),
    sizes,
  );
  const ratios = (id: Table['id'], metric: 'jobsPerSec' | 'serverBytesPerJob'): unknown[][] =>
    tables.find((t) => t.id === id)!.rows.map((r) => [r.spool, r.ratios[metric]]);
  assert.deepEqual(ratios('e2e-c64', 'jobsPerSec'), [
    [true, undefined],
    [true, undefined],
    [false, 2],
    [false, 3],
  ]);
  assert.deepEqual(ratios('server-memory', 'serverBytesPerJob'), [
    [true, undefined],
    [true, undefined],
    [false, 0.5],
    [false, 0.7],
  ]);
});

void test(
  'spool on redis:// beside BullMQ: Redis memory per queued job, measured on the private servers after enqueue bulk',
  { skip: hasRedis ? false : `skipped: ${needRedis}` },
  () => {
    const args = ['--quick', '--json', '--store', 'redis://127.0.0.1:6379', '--peers', 'bullmq'];
    const { stdout } = bench([...args, '--scenarios', 'enqueue-bulk']);
    const { tables } = JSON.parse(stdout) as { tables: JsonTable[] };
    const memory = tables.find((t) => t.id === 'server-memory')!;
    const redis = `Redis ${redisServerVersion()}`;
    assert.deepEqual(
      memory.rows.map((r) => [r.system.split(' ')[0], r.setup]),
      [
        ['spool', `${redis}, no persistence`],
        ['spool', `${redis}, AOF appendfsync always`],
        ['BullMQ', `${redis}, no persistence`],
        ['BullMQ', `${redis}, AOF appendfsync always`],
      ],
    );
    const perJob = memory.rows.map((r) => r.values.serverBytesPerJob!);
    // A waiting job of ~100 bytes costs more than its payload and less than a kilobyte and a half of bookkeeping.
    for (const bytes of perJob) assert.ok(bytes > 100 && bytes < 1_500, `${bytes} bytes per job`);
    assert.deepEqual(
      memory.rows.map((r) => r.ratios.serverBytesPerJob),
      [undefined, undefined, perJob[0]! / perJob[2]!, perJob[1]! / perJob[3]!],
    );
  },
);

void test('the text tables show a failed run, a capped figure and small ratios without hiding them', () => {
  const row = (name: string, setup: string): Row => ({
    name,
    setup,
    spec: { system: 'spool', store: setup },
    scenarios: ['e2e-c1'],
  });
  const ok = (jobsPerSec: number, capped: boolean): Outcome => ({
    ok: true,
    version: '1.0.0',
    durable: 'power-loss',
    figures: { kind: 'throughput', jobsPerSec, jobs: 10, capped },
    peakRssMb: 50,
  });
  const result = (r: Row, outcome: Outcome): RowResult => ({
    row: r,
    outcomes: new Map<ScenarioId, Outcome>([['e2e-c1', outcome]]),
  });
  const tables = buildTables(
    [
      result(row('spool', 'file:x'), ok(10, false)),
      result(row('slow', 'a'), ok(4_000, true)),
      result(row('broken', 'b'), { ok: false, error: 'child exited with code 1' }),
    ],
    sizes,
  );
  const text = renderTables(tables);
  assert.match(text, /end-to-end c=1 \(backlog N=10\)/);
  assert.match(text, /spool 1\.0\.0 +file:x +durable \(survives power loss\) +10 +—/);
  assert.match(text, /slow 1\.0\.0 +a +durable \(survives power loss\) +4,000\* +0\.0025×/);
  assert.match(text, /broken +b +unknown \(no run succeeded\) +failed/);
  assert.match(text, /broken \(b\): child exited with code 1/);
  assert.match(text, /\* hit the 60 s cap/);
});

void test('--runs: each figure is the median of its runs, a failed run fails it, a capped run marks it', () => {
  const run = (jobsPerSec: number, peakRssMb: number, capped = false): Extract<Outcome, { ok: true }> => ({
    ok: true,
    version: '1.0.0',
    durable: 'none',
    figures: { kind: 'throughput', jobsPerSec, jobs: 10, capped },
    peakRssMb,
  });
  const latency = (p50Ms: number, p99Ms: number, addP99Ms: number): Outcome => ({
    ok: true,
    version: '1.0.0',
    durable: 'none',
    figures: { kind: 'latency', p50Ms, p99Ms, addP99Ms, jobs: 10, capped: false },
    peakRssMb: 1,
  });
  assert.deepEqual(combineRuns([run(300, 9), run(100, 7), run(200, 8, true)]), run(200, 8, true));
  assert.deepEqual(combineRuns([latency(3, 30, 4), latency(1, 50, 9), latency(2, 10, 6)]), latency(2, 30, 6));
  const bulk = (bytes: number): Outcome => ({ ...run(1, 1), serverBytesPerJob: bytes });
  assert.deepEqual(combineRuns([bulk(430), bulk(410), bulk(420)]), bulk(420));
  const failed: Outcome = { ok: false, error: 'child exited with code 1' };
  assert.deepEqual(combineRuns([run(1, 1), failed, run(2, 2)]), failed);
});

void test('several --store flags: a spool row each, and each peer row compared with the first spool row of its durability', () => {
  const stores = ['file:/tmp/f', 'sqlite:/tmp/a.db', 'sqlite:/tmp/b.db?synchronous=normal'];
  const rows = planRows(stores, ['plainjob'], undefined);
  assert.deepEqual(
    rows.filter((r) => r.name === 'spool').map((r) => r.setup),
    stores,
  );
  const outcome = (jobsPerSec: number, durable: 'power-loss' | 'process-crash'): Outcome => ({
    ok: true,
    version: '1.0.0',
    durable,
    figures: { kind: 'throughput', jobsPerSec, jobs: 10, capped: false },
    peakRssMb: 50,
  });
  const e2e = (row: Row, o: Outcome): RowResult => ({ row, outcomes: new Map<ScenarioId, Outcome>([['e2e-c64', o]]) });
  const spoolRow = (store: string): Row => ({
    name: 'spool',
    setup: store,
    spec: { system: 'spool', store },
    scenarios: ['e2e-c64'],
  });
  const plain = (synchronous: 'FULL' | 'NORMAL'): Row => ({
    name: 'plainjob',
    setup: synchronous,
    spec: { system: 'plainjob', synchronous, pollMs: 1000 },
    scenarios: ['e2e-c64'],
  });
  const [table] = buildTables(
    [
      e2e(spoolRow('file:/tmp/f'), outcome(1000, 'power-loss')),
      e2e(spoolRow('sqlite:/tmp/b.db?synchronous=normal'), outcome(600, 'process-crash')),
      e2e(plain('FULL'), outcome(100, 'power-loss')),
      e2e(plain('NORMAL'), outcome(300, 'process-crash')),
    ],
    sizes,
  );
  assert.deepEqual(
    table!.rows.map((r) => r.ratios.jobsPerSec),
    [undefined, undefined, 10, 2],
  );
});

void test('argument parsing: the Postgres peers take --pg or the first postgres:// store, lease-depth runs only when named', () => {
  const pg = 'postgres://postgres@127.0.0.1:5432/test';
  const onStore = parseBenchArgs([
    '--store',
    'memory:',
    '--store',
    `${pg}?schema=s`,
    '--peers',
    'graphile-worker,pg-boss',
  ]);
  assert.deepEqual(onStore.peers, ['graphile-worker', 'pg-boss']);
  assert.equal(onStore.peerDatabase, `${pg}?schema=s`);
  assert.deepEqual(onStore.scenarios, ['enqueue-single', 'enqueue-bulk', 'e2e-c1', 'e2e-c64', 'latency']);
  const named = parseBenchArgs(['--pg', pg, '--peers', 'pg-boss', '--scenarios', 'lease-depth,latency', '--quick']);
  assert.equal(named.peerDatabase, pg);
  assert.deepEqual(named.scenarios, ['latency', 'lease-depth']);
  assert.deepEqual(named.sizes.depth, { shallow: 2_000, deep: 20_000, leased: 500, capMs: 3_000 });
  assert.deepEqual(parseBenchArgs([]).sizes.depth, { shallow: 2_000, deep: 500_000, leased: 1_000, capMs: 20_000 });
  // Without a Postgres peer there is no server to describe, even with a postgres:// store.
  assert.equal(parseBenchArgs(['--store', pg, '--peers', 'plainjob']).peerDatabase, undefined);
  assert.throws(() => parseBenchArgs(['--peers', 'pg-boss']), /pg-boss and graphile-worker need a PostgreSQL/);
  assert.throws(() => parseBenchArgs(['--pg', 'redis://x', '--peers', 'pg-boss']), /--pg must be a postgres:\/\/ URL/);
  assert.throws(
    () => parseBenchArgs(['--peers', 'pgboss']),
    /unknown peer "pgboss"; known peers: .*pg-boss, graphile-worker/,
  );
  assert.throws(
    () => parseBenchArgs(['--scenarios', 'lease']),
    /unknown scenario "lease"; known scenarios: .*lease-depth/,
  );
});

void test('spool on postgres:// runs in a schema of its own unless its URL names one; the peers get the bare server URL', () => {
  assert.deepEqual(spoolOnPostgres('postgres://u@h:5432/db'), {
    store: 'postgres://u@h:5432/db?schema=spool_bench',
    schema: 'spool_bench',
  });
  assert.deepEqual(spoolOnPostgres('postgres://u@h/db?schema=mine'), {
    store: 'postgres://u@h/db?schema=mine',
    schema: 'mine',
  });
  assert.equal(serverUrl('postgresql://u@h:5432/db?schema=mine&pool=3'), 'postgresql://u@h:5432/db');
  const info = (synchronousCommit: string, fsync = 'on'): PostgresInfo => ({
    version: '15.20',
    synchronousCommit,
    fsync,
  });
  assert.equal(postgresDurability(info('on')), 'power-loss');
  assert.equal(postgresDurability(info('local')), 'power-loss');
  assert.equal(postgresDurability(info('off')), 'process-crash');
  assert.equal(postgresDurability(info('on', 'off')), 'process-crash');
});

void test('--peers pg-boss,graphile-worker: a row each on the described server, with its version-free setup and every scenario', () => {
  const rows = planRows('postgres://h/db', ['pg-boss', 'graphile-worker'], undefined, {
    version: '15.20',
    synchronousCommit: 'on',
    fsync: 'on',
  });
  assert.deepEqual(
    rows.map((r) => [r.name, r.setup, r.spec.system, r.scenarios.length]),
    [
      ['spool', 'postgres://h/db', 'spool', 6],
      [
        'pg-boss',
        'PostgreSQL 15.20, synchronous_commit=on; poll 0.5 s + notifyWorker after each batch, batchSize=c',
        'pg-boss',
        6,
      ],
      [
        'graphile-worker',
        'PostgreSQL 15.20, synchronous_commit=on; pool 25, localQueue 500, completeJobBatchDelay 0',
        'graphile-worker',
        6,
      ],
    ],
  );
});

void test('lease-depth: both depths with spool/peer, deep/shallow of each row without one, the median of runs, its own cap', () => {
  const depth = (shallowPerSec: number, deepPerSec: number, deepCapped = false): Extract<Outcome, { ok: true }> => ({
    ok: true,
    version: '1.0.0',
    durable: 'power-loss',
    figures: {
      kind: 'depth',
      shallowPerSec,
      deepPerSec,
      jobs: 1_000,
      capped: deepCapped,
      shallowCapped: false,
      deepCapped,
    },
    peakRssMb: 50,
  });
  assert.deepEqual(
    combineRuns([depth(900, 800), depth(1_000, 1_000), depth(1_100, 700, true)]),
    depth(1_000, 800, true),
  );
  const row = (name: string): Row => ({ name, setup: name, spec: { system: 'pg-boss' }, scenarios: ['lease-depth'] });
  const result = (name: string, outcome: Outcome): RowResult => ({
    row: row(name),
    outcomes: new Map<ScenarioId, Outcome>([['lease-depth', outcome]]),
  });
  const tables = buildTables([result('spool', depth(2_000, 1_800)), result('peer', depth(400, 20, true))], sizes);
  const table = tables.find((t) => t.id === 'lease-depth')!;
  assert.deepEqual(
    table.rows.map((r) => [r.values, r.ratios]),
    [
      [{ shallowPerSec: 2_000, deepPerSec: 1_800, deepOverShallow: 0.9 }, {}],
      [
        { shallowPerSec: 400, deepPerSec: 20, deepOverShallow: 0.05 },
        { shallowPerSec: 5, deepPerSec: 90 },
      ],
    ],
  );
  const text = renderTables(tables);
  assert.match(text, /lease\+ack from a queue 2,000 and 500,000 deep \(c=1, 1,000 jobs each, filled in bulk first\)/);
  assert.match(text, /jobs\/s at 2,000 +spool\/peer +jobs\/s at 500,000 +spool\/peer +deep\/shallow\n/);
  assert.match(text, /spool 1\.0\.0 .* 2,000 +— +1,800 +— +0\.90×\n/);
  assert.match(text, /peer 1\.0\.0 .* 400 +5\.00× +20\* +90\.00× +0\.05×\n/);
  assert.match(text, /\* hit the 20 s cap/);
});

void test('lease-depth runs on spool’s own store: two figures from a shallow and a deep queue', () => {
  const { stdout } = bench(['--quick', '--json', '--scenarios', 'lease-depth']);
  const results = JSON.parse(stdout) as Record<string, number>;
  assert.ok(results.leaseShallowPerSec! > 0 && results.leaseDeepPerSec! > 0, stdout);
  assert.equal(results.enqueueBulkPerSec, null);
});

// PostgreSQL is on every machine of this project (127.0.0.1:5432, trust); this branch's runs use a database of their own.
const pgAdmin = 'postgres://postgres@127.0.0.1:5432/test';
const pgBench = 'postgres://postgres@127.0.0.1:5432/pgbench_test';

void test('--peers pg-boss,graphile-worker on the real PostgreSQL: every scenario measured, durability from the server, schemas of their own', async () => {
  const admin = new pg.Client({ connectionString: pgAdmin });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['pgbench_test']);
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE pgbench_test');
  } finally {
    await admin.end();
  }
  // Within ~20 s: add (latency), addBulk and the worker (lease-depth); the other scenarios use the same calls.
  const scenarios = 'enqueue-bulk,latency,lease-depth';
  const args = ['--quick', '--json', '--pg', pgBench, '--peers', 'pg-boss,graphile-worker', '--scenarios', scenarios];
  const { tables } = JSON.parse(bench(args).stdout) as { tables: JsonTable[] };
  assert.deepEqual(
    tables.map((t) => t.id),
    [...scenarios.split(','), 'peak-rss'],
  );
  for (const table of tables) {
    const peers = table.rows.filter((r) => !r.spool);
    assert.deepEqual(
      peers.map((r) => [r.system.replace(/ \d.*/, ''), r.durability, r.error]),
      [
        ['pg-boss', powerSafe, undefined],
        ['graphile-worker', powerSafe, undefined],
      ],
      table.id,
    );
    for (const row of peers) {
      assert.match(row.system, /^(pg-boss 10\.\d+|graphile-worker 0\.17)\.\d+ \(pg 8\.\d+\.\d+\)$/);
      assert.match(row.setup, /^PostgreSQL \d+\.\d+, synchronous_commit=on; /);
      for (const metric of table.metrics as 'jobsPerSec'[])
        assert.ok(row.values[metric]! > 0, `${table.id} ${row.system} ${metric}`);
    }
  }
  const client = new pg.Client({ connectionString: pgBench });
  await client.connect();
  try {
    const schemas = await client.query<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'spool_bench%' ORDER BY nspname",
    );
    assert.deepEqual(
      schemas.rows.map((r) => r.nspname),
      ['spool_bench_graphile_worker', 'spool_bench_pg_boss'],
    );
  } finally {
    await client.end();
  }
});

void test('--prefetch 0,500: spool rows once for each worker prefetch, named in the setup, before the peers', () => {
  assert.deepEqual(parseBenchArgs([]).prefetch, [0]);
  assert.deepEqual(parseBenchArgs(['--prefetch', '0, 500,500']).prefetch, [0, 500]);
  assert.throws(() => parseBenchArgs(['--prefetch', '1001']), /--prefetch must be whole numbers from 0 to 1000/);
  assert.throws(() => parseBenchArgs(['--prefetch', 'a']), /--prefetch must be whole numbers/);
  const rows = planRows(['postgres://h/db', 'memory:'], ['graphile-worker'], undefined, undefined, [0, 500]);
  assert.deepEqual(
    rows.map((r) => [r.setup, r.spec]),
    [
      ['postgres://h/db', { system: 'spool', store: 'postgres://h/db' }],
      ['postgres://h/db; prefetch 500', { system: 'spool', store: 'postgres://h/db', prefetch: 500 }],
      ['memory:', { system: 'spool', store: 'memory:' }],
      ['memory:; prefetch 500', { system: 'spool', store: 'memory:', prefetch: 500 }],
      ['PostgreSQL ?; pool 25, localQueue 500, completeJobBatchDelay 0', { system: 'graphile-worker' }],
    ],
  );
});

void test('lease-depth drains a queue of its own first, unmeasured, when --warmup is above 0; the depths are timed after it', async () => {
  const opened: string[] = [];
  const open = (queue: string): Promise<Subject> => {
    opened.push(queue);
    let queued = 0;
    // The warm-up's queue is slow: were it measured, the shallow figure would show it.
    const later = queue.endsWith('-warmup') ? (f: () => void) => setTimeout(f, 20) : setImmediate;
    return Promise.resolve({
      version: '0',
      durable: 'none',
      add: () => Promise.resolve(),
      addBulk: (data) => {
        queued += data.length;
        return Promise.resolve();
      },
      startWorker: (_concurrency, events) => {
        const next = (): void => {
          if (queued-- <= 0) return;
          events.completed();
          later(next);
        };
        later(next);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
  };
  const depth = { shallow: 30, deep: 60, leased: 10, capMs: 5_000 };
  const warm = await runScenario(open, 'q', 'lease-depth', { ...sizes, warmup: 1, depth });
  assert.deepEqual(opened, ['q-warmup', 'q-30', 'q-60']);
  assert.ok(warm.figures.kind === 'depth' && warm.figures.shallowPerSec > 200, JSON.stringify(warm.figures));
  opened.length = 0;
  await runScenario(open, 'q', 'lease-depth', { ...sizes, warmup: 0, depth });
  assert.deepEqual(opened, ['q-30', 'q-60']);
});
