// The PostgreSQL store under churn (issue 15): `jobs` jobs flow through one queue, added in bulks
// of 1,000 while a worker (concurrency 64) does them, at most 20,000 waiting at a time; every
// 100,000 jobs it prints the jobs table's and its indexes' sizes. With the queue's default
// retention (1,000 completed jobs kept) they must level off, not grow with the jobs done.
//   node --import tsx bench/postgres-soak.ts [jobs=1000000] [postgres://…/database]
// Runs in the schema `spool_soak`, dropped first.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { open } from '../src/index.ts';

const jobs = Number(process.argv[2] ?? 1_000_000);
const base = process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'spool_soak';
const reportEvery = 100_000;
const maxWaiting = 20_000;

const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);

const spool = await open(`${base}${base.includes('?') ? '&' : '?'}schema=${schema}`);
const queue = spool.queue<number>('soak');

async function sizes(): Promise<string> {
  const { rows } = await admin.query<{ table: string; indexes: string; live: string; dead: string }>(
    `SELECT pg_relation_size('${schema}.jobs') AS table, pg_indexes_size('${schema}.jobs') AS indexes,
       n_live_tup AS live, n_dead_tup AS dead
     FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'jobs'`,
    [schema],
  );
  const r = rows[0];
  if (r === undefined) return 'no statistics yet';
  const mb = (bytes: string): string => (Number(bytes) / 1e6).toFixed(1);
  return `table ${mb(r.table)} MB, indexes ${mb(r.indexes)} MB, live rows ${r.live}, dead rows ${r.dead}`;
}

let done = 0;
let reported = 0;
const start = performance.now();
const worker = queue.process(() => undefined, { concurrency: 64 });
const finished = new Promise<void>((resolve) => {
  worker.on('completed', () => {
    if (++done === jobs) resolve();
  });
});
console.log(`start: ${await sizes()}`);
const report = async (): Promise<void> => {
  while (done < jobs) {
    await sleep(200);
    if (done - reported < reportEvery) continue;
    reported = done - (done % reportEvery);
    const seconds = (performance.now() - start) / 1000;
    console.log(`${reported.toLocaleString('en')} jobs, ${(done / seconds).toFixed(0)} jobs/s: ${await sizes()}`);
  }
};
const reporting = report();
for (let added = 0; added < jobs;) {
  if (added - done > maxWaiting) {
    await sleep(20);
    continue;
  }
  const size = Math.min(1000, jobs - added);
  await queue.addBulk(Array.from({ length: size }, (_, i) => ({ data: added + i })));
  added += size;
}
await finished;
await reporting;
const seconds = (performance.now() - start) / 1000;
console.log(`end: ${jobs.toLocaleString('en')} jobs in ${seconds.toFixed(0)} s: ${await sizes()}`);
await worker.close();
await spool.close();
await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
await admin.end();
