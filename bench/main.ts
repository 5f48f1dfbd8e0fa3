// Throughput and latency benchmark: `npm run bench -- [--store <url>] [--json] [--quick]`.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { open } from '../src/index.ts';
import type { Queue, Spool } from '../src/index.ts';

interface Payload {
  i: number;
  ts: number;
  pad: string;
}

interface Results {
  store: string;
  n: number;
  latencySamples: number;
  enqueueSinglePerSec: number;
  enqueueBulkPerSec: number;
  e2eC1PerSec: number;
  e2eC64PerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  peakRssMb: number;
}

const window = 1_000;
const bulkSize = 1_000;
const pad = 'x'.repeat(64);

let run = 0;
const fresh = (scenario: string): string => `bench-${scenario}-${process.pid}-${++run}`;
const payload = (i: number): Payload => ({ i, ts: performance.now(), pad });
const progress = (text: string): void => {
  process.stderr.write(`\r\x1b[K[bench] ${text}`);
};

async function enqueueSingle(spool: Spool, n: number): Promise<number> {
  const q = spool.queue<Payload>(fresh('single'));
  progress(`enqueue single n=${n}`);
  const start = performance.now();
  for (let done = 0; done < n;) {
    const size = Math.min(window, n - done);
    const pending: Promise<string>[] = [];
    for (let k = 0; k < size; k++) pending.push(q.add(payload(done + k)));
    await Promise.all(pending);
    done += size;
  }
  return n / ((performance.now() - start) / 1000);
}

async function fill(q: Queue<Payload>, n: number): Promise<void> {
  for (let done = 0; done < n;) {
    const size = Math.min(bulkSize, n - done);
    await q.addBulk(Array.from({ length: size }, (_, k) => ({ data: payload(done + k) })));
    done += size;
  }
}

async function enqueueBulk(spool: Spool, n: number): Promise<number> {
  const q = spool.queue<Payload>(fresh('bulk'));
  progress(`enqueue bulk n=${n}`);
  const start = performance.now();
  await fill(q, n);
  return n / ((performance.now() - start) / 1000);
}

async function endToEnd(spool: Spool, n: number, concurrency: number): Promise<number> {
  const q = spool.queue<Payload>(fresh(`e2e-c${concurrency}`));
  progress(`e2e c=${concurrency} prefill n=${n}`);
  await fill(q, n);
  progress(`e2e c=${concurrency} n=${n}`);
  let completed = 0;
  let end = 0;
  let resolve = (): void => {};
  const finished = new Promise<void>((r) => (resolve = r));
  const start = performance.now();
  const worker = q.process(() => undefined, { concurrency });
  worker.on('completed', () => {
    if (++completed === n) {
      end = performance.now();
      resolve();
    }
  });
  await finished;
  await worker.close();
  return n / ((end - start) / 1000);
}

async function latency(spool: Spool, samples: number): Promise<{ p50: number; p99: number }> {
  const q = spool.queue<Payload>(fresh('latency'));
  const seen: number[] = [];
  let resolve = (): void => {};
  const finished = new Promise<void>((r) => (resolve = r));
  const worker = q.process(
    (job) => {
      seen.push(performance.now() - job.data.ts);
      if (seen.length === samples) resolve();
    },
    { concurrency: 1 },
  );
  progress(`latency idle`);
  await sleep(50);
  const adds: Promise<string>[] = [];
  for (let i = 0; i < samples; i++) {
    if (i % 100 === 0) progress(`latency ${i}/${samples}`);
    adds.push(q.add(payload(i)));
    await sleep(2);
  }
  await Promise.all(adds);
  await finished;
  await worker.close();
  seen.sort((a, b) => a - b);
  const pct = (p: number): number => seen[Math.min(seen.length - 1, Math.ceil((p / 100) * seen.length) - 1)]!;
  return { p50: pct(50), p99: pct(99) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: 'memory:' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
    },
  });
  const store = values.store;
  const n = values.quick ? 2_000 : 50_000;
  const samples = values.quick ? 200 : 2_000;

  const spool = await open(store);
  let results: Results;
  try {
    const enqueueSinglePerSec = await enqueueSingle(spool, n);
    const enqueueBulkPerSec = await enqueueBulk(spool, n);
    const e2eC1PerSec = await endToEnd(spool, n, 1);
    const e2eC64PerSec = await endToEnd(spool, n, 64);
    const { p50, p99 } = await latency(spool, samples);
    results = {
      store,
      n,
      latencySamples: samples,
      enqueueSinglePerSec,
      enqueueBulkPerSec,
      e2eC1PerSec,
      e2eC64PerSec,
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await spool.close();
    process.stderr.write('\r\x1b[K');
  }

  if (values.json) {
    console.log(JSON.stringify(results));
    return;
  }
  const rate = (x: number): string => `${Math.round(x).toLocaleString('en-US')}/s`;
  const ms = (x: number): string => `${x.toFixed(3)} ms`;
  const rows: [string, string][] = [
    [`enqueue single (${window.toLocaleString('en-US')} outstanding)`, rate(results.enqueueSinglePerSec)],
    [`enqueue bulk (addBulk ${bulkSize.toLocaleString('en-US')})`, rate(results.enqueueBulkPerSec)],
    [`end-to-end c=1 (backlog N=${n.toLocaleString('en-US')})`, rate(results.e2eC1PerSec)],
    [`end-to-end c=64 (backlog N=${n.toLocaleString('en-US')})`, rate(results.e2eC64PerSec)],
    [`add→handler latency p50 (${samples.toLocaleString('en-US')} samples)`, ms(results.latencyP50Ms)],
    [`add→handler latency p99 (${samples.toLocaleString('en-US')} samples)`, ms(results.latencyP99Ms)],
    ['peak RSS', `${results.peakRssMb.toFixed(1)} MB`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`store: ${store}`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
