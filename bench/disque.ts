// The Disque protocol server under load: ADDJOB, GETJOB + ACKJOB throughput and GETJOB latency
// with 50 clients, pipelined and not, against `spool serve --resp` on memory: and the file store
// (fsync and interval), and against a real disque-server when DISQUE_SERVER names its binary
// (this script never builds one). Every target runs as its own process; the clients are lean RESP2
// connections in this one (bench/resp-load.ts), the same client code for every target, light
// enough that the servers, not the clients, set the pace.
//
//   npm run bench:disque -- [--jobs 20000] [--clients 50] [--pipeline 16] [--stores memory:,file]
//                           [--warmup 60000] [--runs 1]
//
// With --runs k each figure is the median of k rounds, every round starting each target afresh in
// turn, so a busy moment of the shared machine does not fall on one target only. With a
// disque-server, each spool row is followed by its ratios to it. The last row is the clients'
// floor (bench/resp-floor.ts): the same clients against a node process that answers every
// command with a canned reply; a server near it is held back by the clients, and the floor's
// own ratios to disque-server are the most any node server could show. Where
// redis-benchmark and redis-server are on PATH, `redis-benchmark -t lpush,rpop -P <pipeline>` on
// a private redis-server prints the engine's ceiling for the same number of clients.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from './free-port.ts';
import { command, LoadClient } from './resp-load.ts';
import { median } from './median.ts';
import type { open as openType } from '../src/index.ts';
import { redisServerVersion, startRedis } from './redis-server.ts';
import { built } from './spool.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '50' },
    pipeline: { type: 'string', default: '16' },
    stores: { type: 'string', default: 'memory:,file-fsync,file-interval' },
    warmup: { type: 'string', default: '60000' },
    runs: { type: 'string', default: '1' },
  },
});
const runs = Number(values.runs);
const jobs = Number(values.jobs);
const clients = Number(values.clients);
const pipeline = Number(values.pipeline);
/**
 * Jobs each workload runs through a new server before it is measured, unmeasured: a node
 * process's first tens of thousands of commands include V8 compiling its code, which a server
 * that has run for a minute is past (a C server has nothing to warm). 10,000 was too few: a new
 * `file:` fsync server spent 57, 33, 23.5, 25.5 and 21.5 µs of CPU an add over its first five
 * rounds of 20,000 unpipelined ADDJOBs.
 */
const warmup = Number(values.warmup);
/** The real Disque's row, and the name each spool row's ratios divide by. */
const disqueName = 'disque-server';
/** bench/resp-floor.ts's row: the same clients against canned replies. */
const floorName = 'client floor (canned replies)';

interface Target {
  readonly name: string;
  readonly port: number;
  /** The server process's CPU time so far (user + system), in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** A process's user + system CPU time in ms, from /proc (Linux): clock ticks of 10 ms. */
function cpuMsOf(child: ChildProcess): () => number {
  return () => {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
}

async function spoolTarget(store: string): Promise<Target> {
  const dir = store.startsWith('file') ? mkdtempSync(join(tmpdir(), 'spool-disque-bench-')) : null;
  const url =
    dir === null ? store : `file:${dir}${store === 'file-interval' ? '?durability=interval&interval=100ms' : ''}`;
  const port = await freePort();
  const server = spawn(
    process.execPath,
    ['dist/cli/main.js', 'serve', '--store', url, '--resp', `127.0.0.1:${port}`, '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // A store that outlives its server (Redis, PostgreSQL) may be the user's own: the rounds' jobs go with the server.
  const outlives = dir === null && store !== 'memory:';
  return serverTarget(`spool ${store}`, port, server, dir, outlives ? () => purgeBenchQueues(url) : null);
}

/** Every queue the rounds named, so that a store that outlives its server is left without them. */
const benchQueues = new Set<string>();

async function purgeBenchQueues(url: string): Promise<void> {
  const { open } = (await import(built)) as { open: typeof openType };
  const spool = await open(url);
  try {
    for (const name of benchQueues) await spool.queue(name).purge();
  } finally {
    await spool.close();
  }
}

async function disqueTarget(binary: string): Promise<Target> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'disque-bench-'));
  const server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  return serverTarget(disqueName, port, server, dir);
}

async function floorTarget(): Promise<Target> {
  const port = await freePort();
  const server = spawn(process.execPath, ['--import', 'tsx', 'bench/resp-floor.ts', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return serverTarget(floorName, port, server, null);
}

/**
 * The target of a server process once it answers on `port`; `dir`, its data, is removed when it
 * stops, and `cleanUp` runs then.
 */
async function serverTarget(
  name: string,
  port: number,
  server: ChildProcess,
  dir: string | null,
  cleanUp: (() => Promise<void>) | null = null,
): Promise<Target> {
  await ready(port);
  return {
    name,
    port,
    cpuMs: cpuMsOf(server),
    async stop() {
      server.kill('SIGTERM');
      await exited(server);
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
      await cleanUp?.();
    },
  };
}

/** Resolves once the server answers PING (it is starting up: retry on refusal). */
async function ready(port: number): Promise<void> {
  for (;;) {
    try {
      const probe = await LoadClient.connect(port);
      try {
        await probe.send(command('PING'));
        return;
      } finally {
        probe.close();
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const connectAll = (port: number): Promise<LoadClient[]> =>
  Promise.all(Array.from({ length: clients }, () => LoadClient.connect(port)));

/**
 * Splits `total` over the clients and runs `each(client, share)` on all of them at once: ops per
 * second, and the server's CPU time per op in µs (what the machine's other load moves least).
 */
async function timed(
  target: Target,
  conns: LoadClient[],
  total: number,
  each: (c: LoadClient, share: number) => Promise<void>,
): Promise<[number, number]> {
  const cpu = target.cpuMs();
  const start = performance.now();
  await Promise.all(conns.map((c, i) => each(c, Math.floor(total / clients) + (i < total % clients ? 1 : 0))));
  const perSecond = Math.round(total / ((performance.now() - start) / 1000));
  return [perSecond, Math.round(((target.cpuMs() - cpu) * 1000) / total)];
}

async function addjob(c: LoadClient, queue: string, n: number, batch: number): Promise<void> {
  const one = command('ADDJOB', queue, 'x'.repeat(100), '0');
  const full = one.repeat(batch);
  for (let done = 0; done < n; done += batch) {
    const size = Math.min(batch, n - done);
    await c.send(size === batch ? full : one.repeat(size), size);
  }
}

/** GETJOB then ACKJOB until `n` jobs are done; GETJOB COUNT `batch` and one ACKJOB for all when pipelined. */
async function consume(c: LoadClient, queue: string, n: number, batch: number, latencies: number[]): Promise<void> {
  for (let done = 0; done < n;) {
    const t = performance.now();
    const [got] = (await c.send(
      command('GETJOB', 'TIMEOUT', '1000', 'COUNT', String(Math.min(batch, n - done)), 'FROM', queue),
    )) as [string[][] | null];
    latencies.push(performance.now() - t);
    if (got === null) return;
    await c.send(command('ACKJOB', ...got.map((job) => job[1] as string)));
    done += got.length;
  }
}

const pct = (sorted: number[], p: number): number =>
  Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0) * 100) / 100;

type Row = Record<string, number>;

async function measure(target: Target): Promise<Row> {
  const conns = await connectAll(target.port);
  const row: Row = {};
  try {
    if (warmup > 0) {
      const queue = `bench-warmup-${Date.now()}`;
      benchQueues.add(queue);
      for (const batch of [1, pipeline]) {
        await timed(target, conns, warmup, (c, n) => addjob(c, queue, n, batch));
        await timed(target, conns, warmup, (c, n) => consume(c, queue, n, batch, []));
      }
    }
    for (const [label, batch] of [
      ['single', 1],
      [`P${pipeline}`, pipeline],
    ] as const) {
      const queue = `bench-${label}-${Date.now()}`;
      benchQueues.add(queue);
      [row[`ADDJOB ${label}/s`], row[`µs ${label}`]] = await timed(target, conns, jobs, (c, n) =>
        addjob(c, queue, n, batch),
      );
      const latencies: number[] = [];
      [row[`GET+ACK ${label}/s`], row[`µs GA ${label}`]] = await timed(target, conns, jobs, (c, n) =>
        consume(c, queue, n, batch, latencies),
      );
      if (batch === 1) {
        latencies.sort((a, b) => a - b);
        row['GETJOB p50 ms'] = pct(latencies, 0.5);
        row['GETJOB p99 ms'] = pct(latencies, 0.99);
      }
    }
  } finally {
    for (const c of conns) c.close();
  }
  return row;
}

const stores = values.stores.split(',').filter((s) => s !== '');
const targets: { name: string; start: () => Promise<Target> }[] = stores.map((store) => ({
  name: `spool ${store}`,
  start: () => spoolTarget(store),
}));
const disque = process.env.DISQUE_SERVER;
if (disque !== undefined) targets.push({ name: disqueName, start: () => disqueTarget(disque) });
targets.push({ name: floorName, start: floorTarget });

const measured = new Map<string, Row[]>(targets.map((t) => [t.name, []]));
for (let round = 1; round <= runs; round++) {
  for (const { name, start } of targets) {
    const target = await start();
    process.stderr.write(`${name}${runs > 1 ? ` (round ${round} of ${runs})` : ''}…\n`);
    try {
      measured.get(name)?.push(await measure(target));
    } finally {
      await target.stop();
    }
  }
}

/** Each column's median over the rounds: jobs/s whole, CPU µs to a tenth, latencies to a hundredth of a ms. */
function medianRow(all: readonly Row[]): Row {
  const first = all[0] ?? {};
  const rounded = (column: string, value: number): number => {
    const scale = column.endsWith('/s') ? 1 : column.endsWith(' ms') ? 100 : 10;
    return Math.round(value * scale) / scale;
  };
  return Object.fromEntries(
    Object.keys(first).map((column) => [column, rounded(column, median(all.map((r) => r[column] ?? NaN)))]),
  );
}

const throughputColumns = (row: Row): string[] => Object.keys(row).filter((column) => column.endsWith('/s'));
const table: Record<string, string | number>[] = [];
const medians = new Map([...measured].map(([name, all]) => [name, medianRow(all)]));
const disqueRow = medians.get(disqueName);
for (const [name, row] of medians) {
  table.push({ target: name, ...row });
  // The floor's ratios too: a node server that does no work at all is as far as a node server can go.
  if (disqueRow === undefined || name === disqueName) continue;
  const ratios: Record<string, string | number> = { target: `  ${name} / ${disqueName}` };
  for (const column of throughputColumns(row))
    ratios[column] = `${((row[column] as number) / (disqueRow[column] as number)).toFixed(2)}×`;
  table.push(ratios);
}
console.log(
  `${jobs} jobs of 100 bytes, ${clients} clients, after ${warmup} unmeasured per workload; µs: the server's CPU time per job` +
    (runs > 1 ? `; each figure the median of ${runs} rounds` : ''),
);
console.table(table);
await engineCeiling();

/**
 * Redis's own LPUSH and RPOP through redis-benchmark, pipelined as the P rows, same clients: what
 * a C server moving list elements does on this machine, the most any job server here can hope for.
 */
async function engineCeiling(): Promise<void> {
  const probe = spawnSync('redis-benchmark', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || redisServerVersion() === undefined) {
    console.log('engine ceiling: skipped (redis-benchmark or redis-server not on PATH)');
    return;
  }
  const redis = await startRedis('none');
  try {
    const n = String(Math.max(jobs, 100_000));
    const args = ['-p', String(redis.port), '-t', 'lpush,rpop', '-P', String(pipeline), '-c', String(clients)];
    const out = spawnSync('redis-benchmark', [...args, '-n', n, '-d', '100', '-q'], { encoding: 'utf8' }).stdout;
    const rate = (command: string): number =>
      Math.round(Number(new RegExp(`${command}: ([\\d.]+) requests per second`).exec(out)?.[1] ?? NaN));
    console.log(
      `engine ceiling: redis-benchmark -t lpush,rpop -P ${pipeline} -c ${clients} -d 100 on redis-server ${redis.version}: ` +
        `LPUSH ${rate('LPUSH')}/s, RPOP ${rate('RPOP')}/s`,
    );
  } finally {
    await redis.stop();
  }
}
