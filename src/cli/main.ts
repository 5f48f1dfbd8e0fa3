#!/usr/bin/env node
// The `spool` command. For now: `demo`, a worker and a producer on one store, `check` of a
// data directory, and `version`. serve, add, work, stats, peek, dead and topic arrive with the
// server (issue 6).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { open, SpoolError } from '../index.ts';
import { checkDataDir } from '../store/file/index.ts';

const usage = `usage: spool <command>

commands:
  demo [--store URL] [--jobs N] [--concurrency C]   add N jobs and process them with a worker
  check [--repair] [DIR]                            verify every record of a data directory (default ./spool-data);
                                                    --repair keeps every intact record and drops the damage
  version                                           print the version`;

async function demo(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      store: { type: 'string', default: 'file:./spool-data' },
      jobs: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const jobs = Number(values.jobs);
  const concurrency = Number(values.concurrency);
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a whole number ≥ 1, got ${values.jobs}`);
  await using spool = await open(values.store);
  const queue = spool.queue<{ n: number }>('demo');
  const started = performance.now();
  await queue.addBulk(Array.from({ length: jobs }, (_, n) => ({ data: { n } })));
  let done = 0;
  const finished = new Promise<void>((resolve) => {
    const worker = queue.process(() => undefined, { concurrency });
    worker.on('completed', () => {
      if (++done === jobs) resolve();
    });
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `spool demo on ${values.store}: added and processed ${jobs} jobs in ${seconds.toFixed(2)}s (${Math.round(jobs / seconds)} jobs/s)`,
  );
  console.log(await queue.counts());
}

/** Exit 0: intact (a torn tail is normal after a crash); 1: damage found and not repaired. */
async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { repair: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const dir = positionals[0] ?? './spool-data';
  const progress = process.stderr.isTTY
    ? (done: number, total: number) =>
        process.stderr.write(`\rchecking ${dir}: ${Math.floor((100 * done) / Math.max(total, 1))}%`)
    : undefined;
  const report = await checkDataDir(dir, { repair: values.repair, progress });
  if (progress !== undefined) process.stderr.write('\n');
  console.log(
    `${dir}: ${report.segments} segments, ${report.records} records, ${report.bytes} bytes, ${report.checkpoints} checkpoints`,
  );
  if (report.tornTail !== null)
    console.log(`${report.tornTail.file} at ${report.tornTail.offset}: ${report.tornTail.what}`);
  for (const p of report.problems) console.log(`${p.file} at ${p.offset}: ${p.what}`);
  if (report.repairedJobs !== undefined) console.log(`repaired: the store opens with ${report.repairedJobs} jobs`);
  if (report.problems.length === 0) {
    console.log('ok');
    return 0;
  }
  if (!values.repair) console.log('damage found: run `spool check --repair` to keep every intact record');
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      await demo(rest);
      return 0;
    case 'check':
      return check(rest);
    case 'version':
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      console.log(pkg.version);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(usage);
      return command === undefined ? 2 : 0;
    default:
      console.error(`spool: unknown command "${command}"\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`spool: ${error instanceof SpoolError || error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
