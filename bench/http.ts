// HTTP publish and consume throughput against `spool serve` (a child process, so the server
// has its own event loop), with autocannon as the keep-alive load generator in this process:
//   npm run bench:http -- [--store file:<dir>|memory:] [--seconds 5] [--connections 64] [--json]
// Figures: single publishes/s (one message per request), batch messages/s (1,000 per request),
// consume messages/s (lease 100, then one batch ack, over 16 connections) from the batch route's
// queue, and jobs/s through spool/client's worker (16 handlers; then with prefetch 64) in this process.
// Every figure counts 2xx answers only, and any other answer fails the run.
// autocannon costs about as much CPU per request as the server: on 2 cores it takes the core
// the server needs. Where wrk (C, `apt-get install wrk`) is on PATH, single publishes are also
// measured with it, so the server's own figure shows.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { Options, Request, Result } from 'autocannon';
import { connect } from '../src/client/index.ts';
import type { RemoteProcessOptions } from '../src/client/index.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const dir = mkdtempSync(join(tmpdir(), 'spool-bench-http-'));
const store = values.store ?? `file:${dir}`;

const child = spawn(
  process.execPath,
  // The built server, as users run it (`npm run bench:http` builds first).
  ['dist/cli/main.js', 'serve', '--store', store, '--http', '127.0.0.1:0', '--log-level', 'info'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
// Request logging is off in spool serve; at info it logs only its address and its stop.
const base = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const url = /"url":"([^"]+)"/.exec(out)?.[1];
    if (url !== undefined) resolve(url);
  });
  child.once('exit', (code) => reject(new Error(`spool serve exited with ${code}`)));
});
// A failed run must not leave the server behind.
process.once('exit', () => child.kill('SIGKILL'));

const json = { 'content-type': 'application/json' };

/** Runs autocannon against the server; fails on any answer but a 2xx, so a figure never counts errors. */
async function load(title: string, path: string, options: Omit<Options, 'url' | 'duration'>): Promise<Result> {
  const result = await autocannon({ url: new URL(path, base).href, duration: seconds, title, ...options });
  if (result.errors > 0 || result.non2xx > 0)
    throw new Error(
      `${title}: ${result.errors} errors, ${result.non2xx} answers other than 2xx (${JSON.stringify(result.statusCodeStats)})`,
    );
  return result;
}

const perSecond = (count: number, result: Result): number => Math.round(count / result.duration);

const message = JSON.stringify({ data: { pad: 'x'.repeat(64) } });
const single = await load('single', '/v1/queues/single/jobs', {
  connections,
  method: 'POST',
  headers: json,
  body: message,
});

/** Single publishes/s from wrk, or null without wrk on PATH. */
function wrkPublishes(path: string, body: string): number | null {
  if (spawnSync('wrk', ['--version']).error !== undefined) return null;
  const script = join(dir, 'publish.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const run = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, new URL(path, base).href], {
    encoding: 'utf8',
  });
  if (run.status !== 0 || /Non-2xx|Socket errors/.test(run.stdout)) throw new Error(`wrk: ${run.stdout}${run.stderr}`);
  return Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(run.stdout)?.[1]));
}
const singleWrk = wrkPublishes('/v1/queues/single-wrk/jobs', message);

const batch = JSON.stringify({ jobs: Array.from({ length: 1000 }, (_, i) => ({ data: { i, pad: 'x'.repeat(64) } })) });
const batched = await load('batch', '/v1/queues/batch/jobs/batch', {
  connections: 8,
  method: 'POST',
  headers: json,
  body: batch,
});

// Each connection leases up to 100 jobs, then acks them in one request; an empty lease skips the ack.
let consumed = 0;
interface Leases {
  tokens?: string[];
}
// autocannon starts a connection's sequence over when setupRequest returns nothing (its README);
// @types/autocannon leaves that out of the return type.
const startOver = undefined as unknown as Request;
const lease = JSON.stringify({ queues: ['batch'], max: 100, wait: 0 });
const consume = await load('consume', '/', {
  connections: 16,
  requests: [
    {
      method: 'POST',
      path: '/v1/lease',
      headers: json,
      body: lease,
      onResponse: (_status, body, context: Leases) => {
        context.tokens = (JSON.parse(body) as { jobs: { token: string }[] }).jobs.map((job) => job.token);
      },
    },
    {
      method: 'POST',
      path: '/v1/ack/batch',
      headers: json,
      setupRequest: (request, context: Leases) => {
        const tokens = context.tokens ?? [];
        return tokens.length === 0 ? startOver : { ...request, body: JSON.stringify({ tokens }) };
      },
      onResponse: (_status, body) => {
        consumed += (JSON.parse(body) as { acked: number }).acked;
      },
    },
  ],
});

/** Jobs/s a spool/client worker with `options` runs through `total` waiting jobs of an empty handler. */
async function remoteWorker(queue: string, total: number, options: RemoteProcessOptions): Promise<number> {
  const q = connect(base).queue<number>(queue);
  for (let at = 0; at < total; at += 1000)
    await q.addBulk(Array.from({ length: Math.min(1000, total - at) }, (_, i) => ({ data: at + i })));
  const start = performance.now();
  let completed = 0;
  const worker = q.process(() => {}, options);
  await new Promise<void>((resolve) => worker.on('completed', () => ++completed === total && resolve()));
  const perSec = Math.round(total / ((performance.now() - start) / 1000));
  await worker.close();
  return perSec;
}
const remoteJobs = 20_000;
const remote = await remoteWorker('remote', remoteJobs, { concurrency: 16 });
const remotePrefetch = await remoteWorker('remote-prefetch', remoteJobs, { concurrency: 16, prefetch: 64 });

const results = {
  store,
  seconds,
  connections,
  singlePublishPerSec: perSecond(single['2xx'], single),
  singlePublishPerSecWrk: singleWrk,
  batchMessagesPerSec: perSecond(batched['2xx'] * 1000, batched),
  consumePerSec: perSecond(consumed, consume),
  remoteWorkerPerSec: remote,
  remoteWorkerPrefetchPerSec: remotePrefetch,
};
if (values.json) console.log(JSON.stringify(results));
else
  console.log(
    `spool serve on ${store}: ${results.singlePublishPerSec} publishes/s one per request (${connections} connections, autocannon), ` +
      (singleWrk === null ? '' : `${singleWrk} publishes/s one per request (wrk), `) +
      `${results.batchMessagesPerSec} messages/s through the batch route (1,000 per request), ` +
      `${results.consumePerSec} messages/s leased and acked (batches of 100), ` +
      `${remote} jobs/s through spool/client's worker (concurrency 16), ${remotePrefetch} with prefetch 64`,
  );
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
