// HTTP publish and consume throughput against `spool serve` (a child process, so the server
// has its own event loop), keep-alive clients in this process:
//   npm run bench:http -- [--store file:<dir>|memory:] [--seconds 5] [--connections 64] [--json]
// Figures: single publishes/s (one message per request), batch messages/s (1,000 per request),
// and consume messages/s (lease 100, then one batch ack, over 16 connections) from the batch route's queue.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

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
  ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--store', store, '--http', '127.0.0.1:0', '--log-level', 'info'],
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
const { hostname, port } = new URL(base);
const agent = new Agent({ keepAlive: true, maxSockets: connections });

function post(path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => (res.statusCode! < 300 ? resolve(text) : reject(new Error(`${res.statusCode}: ${text}`))));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

async function during(concurrency: number, fn: () => Promise<number>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        // Not `count += await fn()`: that reads count before the await and loses the other loops' additions.
        const done = await fn();
        count += done;
      }
    }),
  );
  return Math.round(count / ((performance.now() - started) / 1000));
}

const message = JSON.stringify({ data: { pad: 'x'.repeat(64) } });
const batch = JSON.stringify({ jobs: Array.from({ length: 1000 }, (_, i) => ({ data: { i, pad: 'x'.repeat(64) } })) });
const single = await during(connections, () => post('/v1/queues/single/jobs', message).then(() => 1));
const batched = await during(8, () => post('/v1/queues/batch/jobs/batch', batch).then(() => 1000));
const lease = JSON.stringify({ queues: ['batch'], max: 100, wait: 0 });
const consumed = await during(16, async () => {
  const { jobs } = JSON.parse(await post('/v1/lease', lease)) as { jobs: { token: string }[] };
  if (jobs.length > 0) await post('/v1/ack/batch', JSON.stringify({ tokens: jobs.map((job) => job.token) }));
  return jobs.length;
});

const results = {
  store,
  seconds,
  connections,
  singlePublishPerSec: single,
  batchMessagesPerSec: batched,
  consumePerSec: consumed,
};
if (values.json) console.log(JSON.stringify(results));
else
  console.log(
    `spool serve on ${store}: ${single} publishes/s one per request (${connections} connections), ` +
      `${batched} messages/s through the batch route (1,000 per request), ${consumed} messages/s leased and acked (batches of 100)`,
  );
agent.destroy();
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
