// Real worker processes sharing one queue on the shared PostgreSQL: several at once, kill -9
// mid-job with the stale lease fenced off, and a blocked lease woken across processes by NOTIFY.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { open } from '../src/index.ts';
import { PostgresStore } from '../src/store/postgres/index.ts';
import { dropSchemas, postgresProblem, postgresUrl, withSchema } from './fixtures/postgres.ts';
import { skipUnless } from './fixtures/redis.ts';

const skip = skipUnless(
  await postgresProblem(),
  `PostgreSQL at ${postgresUrl}`,
  'start PostgreSQL or set SPOOL_POSTGRES_URL',
);
const stem = `pgfaults_proc_${process.pid}_`;
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (skip === false) await dropSchemas(postgresUrl, stem);
});

/** Starts a fixture process; `onLine` sees each line it prints. Resolves once it says `ready`. */
async function start(script: string, args: string[], onLine: (line: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', `test/fixtures/${script}`, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited early with ${code}`)));
    lines.on('line', (line) => (line === 'ready' ? resolve() : onLine(line)));
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

void describe('postgres store: worker processes', { skip }, () => {
  void test('4 worker processes on one queue each take jobs, and every job is done exactly once', async () => {
    const url = withSchema(postgresUrl, `${stem}many`);
    await using spool = await open(url);
    const q = spool.queue<number>('many');
    const total = 1000;
    const done = new Map<string, number>();
    const perWorker = [0, 0, 0, 0];
    let finished = 0;
    let allDone = (): void => {};
    const over = new Promise<void>((resolve) => (allDone = resolve));
    const workers = await Promise.all(
      perWorker.map((_, w) =>
        start('postgres-worker.ts', [url, q.name, '4', 'work'], (line) => {
          const [kind, id = ''] = line.split(' ');
          if (kind !== 'done') return;
          perWorker[w]!++;
          done.set(id, (done.get(id) ?? 0) + 1);
          if (++finished === total) allDone();
        }),
      ),
    );
    const ids = await q.addBulk(Array.from({ length: total }, (_, i) => ({ data: i })));
    await over;
    await Promise.all(workers.map(kill9));
    assert.ok(
      perWorker.every((n) => n > 0),
      `every process took jobs: ${perWorker.join(' ')}`,
    );
    assert.deepEqual([...done.keys()].sort(), [...ids].sort());
    assert.deepEqual(
      [...done].filter(([, n]) => n !== 1),
      [],
      'jobs done more than once',
    );
    const counts = await q.counts();
    assert.equal(counts.waiting + counts.active + counts.delayed, 0);
  });

  void test('jobs of a process killed with -9 mid-job are done by another after the visibility time-out; its stale acks are lost', async () => {
    const schema = `${stem}killed`;
    const url = withSchema(postgresUrl, schema);
    await using spool = await open(url);
    const q = spool.queue<number>('killed', { visibility: '1s', backoff: { type: 'fixed', delay: 0 } });
    const ids = await q.addBulk(Array.from({ length: 6 }, (_, i) => ({ data: i })));
    const tokens = new Map<string, string>();
    let threeStarted = (): void => {};
    const started = new Promise<void>((resolve) => (threeStarted = resolve));
    const hung = await start('postgres-worker.ts', [url, q.name, '3', 'hang'], (line) => {
      const [kind, id = '', token = ''] = line.split(' ');
      if (kind === 'start' && tokens.set(id, token).size === 3) threeStarted();
    });
    await started;
    const killedAt = Date.now();
    await kill9(hung);
    const attempts = new Map<string, number>();
    const doneAt = new Map<string, number>();
    let allDone = (): void => {};
    const over = new Promise<void>((resolve) => (allDone = resolve));
    const onLine = (line: string): void => {
      const [kind, id = '', attempt = ''] = line.split(' ');
      if (kind !== 'done') return;
      attempts.set(id, Number(attempt));
      doneAt.set(id, Date.now());
      if (attempts.size === ids.length) allDone();
    };
    const workers = await Promise.all(
      [0, 1].map(() => start('postgres-worker.ts', [url, q.name, '2', 'work'], onLine)),
    );
    await over;
    await Promise.all(workers.map(kill9));
    for (const id of ids) assert.equal(attempts.get(id), tokens.has(id) ? 2 : 1, `attempt of job ${id}`);
    for (const id of tokens.keys()) {
      // Leased at most a moment before the kill, so not free again until nearly a second after it.
      assert.ok((doneAt.get(id) as number) - killedAt >= 800, `job ${id} came back at the visibility time-out`);
    }
    // The killed process's leases, acked late (as if its ack had been in flight), are fenced off.
    const store = await PostgresStore.open({ connectionString: postgresUrl, schema });
    try {
      const answers = await store.ack({
        now: Date.now(),
        items: [...tokens.values()].map((token) => ({ token, result: null })),
      });
      assert.deepEqual(answers, [null, null, null]);
    } finally {
      await store.close();
    }
    const counts = await q.counts();
    assert.equal(counts.completed, 6);
    assert.equal(counts.waiting + counts.active + counts.delayed, 0);
  });

  void test("a lease blocked in one process wakes within milliseconds of another's add, and does not poll meanwhile", async (t) => {
    const schema = `${stem}wake`;
    const app = `${stem}leaser`;
    const url = `${withSchema(postgresUrl, schema)}&application_name=${app}`;
    await using spool = await open(withSchema(postgresUrl, schema));
    const q = spool.queue<string>('wake');
    let leased = (_line: string): void => {};
    const woken = new Promise<string>((resolve) => (leased = resolve));
    const child = await start('blocked-leaser.ts', [url, q.name], (line) => leased(line));
    // The child says ready just before its lease: give it time to block, then watch it idle.
    await new Promise((r) => setTimeout(r, 1500));
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ idle_ms: number; query: string }>(
        `SELECT extract(epoch FROM now() - query_start) * 1000 AS idle_ms, query
           FROM pg_stat_activity WHERE application_name = $1`,
        [app],
      );
      assert.ok(rows.length > 0, 'the blocked process is connected');
      // Its last statements ran around its open and its first lease, not since.
      for (const row of rows) assert.ok(row.idle_ms >= 1000, `idle ${row.idle_ms} ms after: ${row.query}`);
      assert.ok(
        rows.some((row) => /^LISTEN/.test(row.query)),
        'one connection listens',
      );
    } finally {
      await admin.end();
    }
    const addedAt = Date.now();
    await q.add('hello');
    const [, at = '', count = ''] = (await woken).split(' ');
    assert.equal(count, '1');
    const ms = Number(at) - addedAt;
    t.diagnostic(`woken ${ms} ms after the add`);
    // Typically a few ms; the bound leaves room for a loaded 2-core machine.
    assert.ok(ms < 250, `woken ${ms} ms after the add`);
    await new Promise((resolve) => child.once('exit', resolve));
  });
});
