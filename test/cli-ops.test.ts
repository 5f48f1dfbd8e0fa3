// The CLI for every operation, run as a user runs it: one job by id, lease and ack for scripts,
// pause and resume, --json on what prints data, and a data directory that `spool serve` holds
// reached through that server instead of failing with LOCKED (issue 18).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ManualClock, open } from '../src/index.ts';
import { connect } from '../src/client/index.ts';
import { serve, stop } from './server/harness.ts';
import { cli, runCli as run } from './support/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-cli-ops-'));
after(() => rmSync(root, { recursive: true, force: true }));

const json = (out: { stdout: string; stderr: string; status: number | null }): unknown => {
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout) as unknown;
};

void test('job get, lease, ack, job remove and job retry on a data directory, as text and as --json', async () => {
  const store = `file:${join(root, 'ops')}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  assert.deepEqual(json(spool('add', 'mail', '{"to":"a"}', '--json')), { id: '1' });
  assert.equal(spool('add', 'mail', '{"to":"b"}').stdout, '2\n');

  const shown = spool('job', 'get', 'mail', '1');
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^id {10}1$/m);
  assert.match(shown.stdout, /^state {7}waiting$/m);
  assert.match(shown.stdout, /^data {8}\{"to":"a"\}$/m);
  const got = json(spool('job', 'get', 'mail', '1', '--json')) as { id: string; state: string; data: unknown };
  assert.deepEqual([got.id, got.state, got.data], ['1', 'waiting', { to: 'a' }]);
  const missing = spool('job', 'get', 'mail', '99');
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'spool: job 99 in queue mail: not found\n');

  // A script's loop: lease prints `<token> <data>`, ack takes the tokens.
  const leased = spool('lease', 'mail', '--visibility', '1m');
  assert.equal(leased.status, 0, leased.stderr);
  const [token, data] = leased.stdout.trim().split(' ') as [string, string];
  assert.equal(data, '{"to":"a"}');
  assert.equal(spool('job', 'get', 'mail', '1', '--json').stdout.includes('"state":"active"'), true);
  const [second] = json(spool('lease', 'mail', '--json')) as { id: string; token: string; data: unknown }[];
  assert.deepEqual([second?.id, second?.data], ['2', { to: 'b' }]);
  assert.deepEqual(json(spool('lease', 'mail', '--json')), []);
  assert.equal(spool('ack', token).stdout, 'acked 1\n');
  // Acked already: lost, exit 1, and the other token of the same call is still acked.
  const again = spool('ack', token, second!.token, '--json');
  assert.equal(again.status, 1);
  assert.deepEqual(JSON.parse(again.stdout), { acked: 1, lost: [token] });
  assert.match(spool('job', 'get', 'mail', '1').stdout, /^state {7}completed$/m);

  assert.equal(spool('job', 'remove', 'mail', '1').stdout, 'removed 1\n');
  assert.equal(spool('job', 'remove', 'mail', '1').status, 1);

  // A dead job back to waiting; one that is not dead is refused.
  {
    await using local = await open(store);
    await local.queue('mail').add({ to: 'c' }, { maxAttempts: 1 });
    const [job] = await local.queue('mail').lease();
    await job!.fail('bounced');
  }
  const notDead = spool('job', 'retry', 'mail', '2');
  assert.equal(notDead.status, 1);
  assert.match(notDead.stderr, /job 2 in queue mail: no dead job with this id/);
  assert.deepEqual(json(spool('job', 'retry', 'mail', '3', '--json')), { retried: 1 });
  assert.match(spool('job', 'get', 'mail', '3').stdout, /^state {7}waiting$/m);
});

void test('pause stops leases until resume; stats, peek, dead and topic list print JSON with --json', () => {
  const store = `file:${join(root, 'paused')}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  spool('add', 'jobs', '1');
  assert.equal(spool('pause', 'jobs').stdout, 'paused jobs\n');
  assert.deepEqual(json(spool('lease', 'jobs', '--json')), []);
  const [row] = json(spool('stats', 'jobs', '--json')) as {
    name: string;
    counts: { waiting: number; paused: boolean };
  }[];
  assert.deepEqual([row?.name, row?.counts.waiting, row?.counts.paused], ['jobs', 1, true]);
  assert.match(spool('stats', 'jobs').stdout, /jobs\s+1\s+0\s+0\s+0\s+0\s+0\s+yes/);
  assert.deepEqual(json(spool('resume', 'jobs', '--json')), { queues: ['jobs'], paused: false });
  assert.equal((json(spool('peek', 'jobs', '--json')) as { data: unknown }[])[0]?.data, 1);
  assert.equal((json(spool('lease', 'jobs', '--json')) as unknown[]).length, 1);
  assert.deepEqual(json(spool('dead', 'jobs', '--json')), []);
  assert.equal(spool('topic', 'create', 'cart', 'counter').status, 0);
  assert.deepEqual(json(spool('topic', 'list', '--json')), ['cart']);
});

void test('queues lists every queue with its counts, once or --watch, and so does stats with no names', async () => {
  const store = `file:${join(root, 'listed')}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  spool('add', 'mail', '1');
  spool('add', 'sms', '2', '--delay', '1h');
  const listed = spool('queues');
  assert.match(listed.stdout, /^queue\s+waiting\s+delayed/);
  assert.match(listed.stdout, /^mail\s+1\s+0\s/m);
  assert.match(listed.stdout, /^sms\s+0\s+1\s/m);
  assert.equal(spool('stats').stdout, listed.stdout);
  const queues = json(spool('queues', '--json')) as { name: string; counts: { waiting: number } }[];
  assert.deepEqual(
    queues.map((q) => [q.name, q.counts.waiting]),
    [
      ['mail', 1],
      ['sms', 0],
    ],
  );
  // --watch prints again until Ctrl-C: a JSON document a line.
  const watcher = spawn(process.execPath, [...cli, 'queues', '--json', '--watch', '0.2'], {
    env: { ...process.env, SPOOL_STORE: store },
  });
  let out = '';
  watcher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => watcher.once('exit', resolve));
  for (const deadline = Date.now() + 20_000; out.split('\n').length < 3;) {
    assert.ok(Date.now() < deadline, `no second listing: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  watcher.kill('SIGINT');
  assert.equal(await exited, 0);
  for (const document of out.trim().split('\n')) assert.equal((JSON.parse(document) as unknown[]).length, 2);
});

void test('stats and queues show the jobs that went past their TTL in an expired column, beside the other states', async () => {
  const store = `file:${join(root, 'expired')}`;
  {
    const clock = new ManualClock(Date.now());
    await using spool = await open(store, { clock });
    const q = spool.queue('mail');
    await q.add('late', { ttl: '1m' });
    await q.add('later', { ttl: '1m' });
    await q.add('kept');
    clock.advance(120_000);
    assert.equal((await q.counts()).expired, 2);
  }
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  for (const command of ['stats', 'queues']) {
    const text = spool(command).stdout.split('\n');
    assert.match(text[0] ?? '', /^queue\s+waiting\s+delayed\s+active\s+dead\s+completed\s+expired\s+paused$/, command);
    assert.match(text[1] ?? '', /^mail\s+1\s+0\s+0\s+0\s+0\s+2$/, command);
    const [row] = json(spool(command, '--json')) as { counts: { expired: number } }[];
    assert.equal(row?.counts.expired, 2, command);
  }
});

void test('dead --purge removes every dead job, past the first page of 1,000', async () => {
  const store = `file:${join(root, 'purged')}`;
  {
    await using spool = await open(store);
    const q = spool.queue('failing');
    await q.configure({ maxAttempts: 1 });
    await q.addBulk(Array.from({ length: 1500 }, (_, i) => ({ data: i })));
    for (let jobs = await q.lease({ max: 1000 }); jobs.length > 0; jobs = await q.lease({ max: 1000 }))
      for (const job of jobs) await job.fail(new Error('no'));
    await q.add('kept');
    assert.equal((await q.counts()).dead, 1500);
  }
  const purged = run(['dead', 'failing', '--purge', '--json'], { SPOOL_STORE: store });
  // Before: {"removed":1000}, and 500 dead jobs left.
  assert.deepEqual(json(purged), { removed: 1500 });
  await using spool = await open(store);
  const counts = await spool.queue('failing').counts();
  assert.deepEqual([counts.dead, counts.waiting], [0, 1]);
});

void test('dead --retry --purge is bad usage, exit 2, and leaves the dead jobs dead', async () => {
  const store = `file:${join(root, 'retry-purge')}`;
  {
    await using spool = await open(store);
    const q = spool.queue('failing');
    await q.add('x', { maxAttempts: 1 });
    const [job] = await q.lease();
    await job!.fail(new Error('no'));
  }
  const both = run(['dead', 'failing', '--retry', '--purge'], { SPOOL_STORE: store });
  assert.equal(both.status, 2, both.stdout);
  assert.match(both.stderr, /option '--retry' cannot be used with option '--purge'/);
  assert.equal(both.stdout, '');
  await using spool = await open(store);
  const counts = await spool.queue('failing').counts();
  assert.deepEqual([counts.dead, counts.waiting], [1, 0]);
});

void test('Ctrl-C ends stats --watch at once, not at the end of its interval', async () => {
  const watcher = spawn(process.execPath, [...cli, 'stats', '--watch', '120'], {
    env: { ...process.env, SPOOL_STORE: 'memory:' },
  });
  let out = '';
  watcher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => watcher.once('exit', resolve));
  for (const deadline = Date.now() + 20_000; !out.includes('queue');) {
    assert.ok(Date.now() < deadline, 'no first table');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const started = Date.now();
  watcher.kill('SIGINT');
  assert.equal(await exited, 0);
  // Before, it slept the 120 s out first.
  assert.ok(Date.now() - started < 10_000, `exited ${Date.now() - started} ms after Ctrl-C`);
});

void test("queues --json writes each queue's settings as queue show --json does, on a store and through its serve", async () => {
  const store = `file:${join(root, 'listed-settings')}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  assert.equal(spool('queue', 'set', 'mail', '--ttl', '1h', '--max-attempts', 'unlimited').status, 0);
  const listed = () => {
    const [mail] = json(spool('queues', '--json')) as { name: string; settings: unknown }[];
    return [mail?.name, mail?.settings];
  };
  const shown = json(spool('queue', 'show', 'mail', '--json')) as { ttl: number; backoff: { type: string } };
  assert.deepEqual([shown.ttl, shown.backoff.type], [3_600_000, 'exponential']);
  assert.deepEqual(listed(), ['mail', shown]);
  const served = await serve(store);
  try {
    assert.deepEqual(listed(), ['mail', shown]);
  } finally {
    await stop(served);
  }
});

void test('peek -n past 1,000 answers the same beside a running serve as on the store', async () => {
  const store = `file:${join(root, 'long-peek')}`;
  {
    await using local = await open(store);
    await local
      .queue('mail')
      .addBulk(Array.from({ length: 1500 }, (_, n) => ({ data: n, options: { priority: n % 3 } })));
  }
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  const peeked = () => (json(spool('peek', 'mail', '-n', '5000', '--json')) as { id: string }[]).map((job) => job.id);
  const onStore = peeked();
  assert.equal(onStore.length, 1500);
  const served = await serve(store);
  try {
    assert.deepEqual(peeked(), onStore);
  } finally {
    await stop(served);
  }
});

void test('queues and stats refuse a --watch of 0, below 0 or not a number: exit 2, one line naming the shortest interval', () => {
  const store = `file:${join(root, 'watched')}`;
  for (const [command, seconds] of [
    ['stats', '0'],
    ['queues', '-1'],
    ['stats', 'abc'],
    ['queues', '0.05'],
  ] as const) {
    const refused = run([command, '--watch', seconds], { SPOOL_STORE: store });
    assert.equal(refused.status, 2, `${command} --watch ${seconds}: ${refused.stdout}`);
    assert.equal(refused.stdout, '');
    assert.equal(refused.stderr, `spool: --watch: must be seconds from 0.1 to 2147483, got "${seconds}"\n`);
  }
});

void test('--store help shows the URL forms', () => {
  for (const command of ['add', 'job get', 'lease', 'ack', 'work', 'serve', 'demo']) {
    const help = run([...command.split(' '), '--help']).stdout;
    for (const form of [
      'file:<dir>',
      'memory:',
      'sqlite:<file>',
      'libsql:<file>',
      'leveldb:<dir>',
      'redis://',
      'rediss://',
      'redis+cluster://',
      'postgres://',
    ])
      assert.ok(help.includes(form), `${command} --help: no ${form}`);
  }
});

void test('a data directory that spool serve holds is reached through the server, not refused as LOCKED', async () => {
  const dir = join(root, 'served');
  const store = `file:${dir}`;
  const served = await serve(store);
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  try {
    const record = JSON.parse(readFileSync(join(dir, 'SERVING.json'), 'utf8')) as { pid: number; url: string };
    assert.deepEqual(record, { v: 1, pid: served.child.pid, url: served.base });
    assert.equal(spool('add', 'mail', '"hi"').stdout, '1\n');
    assert.match(spool('job', 'get', 'mail', '1').stdout, /^state {7}waiting$/m);
    const [job] = json(spool('lease', 'mail', '--json')) as { token: string; data: unknown }[];
    assert.equal(job?.data, 'hi');
    assert.deepEqual(json(spool('ack', job.token, '--json')), { acked: 1, lost: [] });
    assert.equal(spool('pause', 'mail').status, 0);
    assert.match(spool('stats', 'mail').stdout, /mail\s+0\s+0\s+0\s+0\s+1\s+0\s+yes/);
    assert.match(spool('queues').stdout, /^mail\s+0\s+0\s+0\s+0\s+1\s+0\s+yes$/m);
  } finally {
    await stop(served);
  }
  assert.equal(existsSync(join(dir, 'SERVING.json')), false, 'serve removes its record when it stops');
  // On its own again: the command opens the directory itself.
  assert.match(spool('stats', 'mail').stdout, /mail\s+0\s+0\s+0\s+0\s+1\s+0\s+yes/);
});

void test('job promote makes a delayed job due now, and refuses one that is not delayed, on a store and through its serve', async () => {
  const dir = join(root, 'promoted');
  const store = `file:${dir}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  assert.equal(spool('add', 'mail', '"later"', '--delay', '1h').stdout, '1\n');
  assert.equal(spool('add', 'mail', '"later too"', '--delay', '1h').stdout, '2\n');
  assert.equal(spool('add', 'mail', '"now"').stdout, '3\n');
  assert.equal(spool('job', 'promote', 'mail', '1').stdout, 'promoted 1\n');
  assert.match(spool('job', 'get', 'mail', '1').stdout, /^state {7}waiting$/m);
  const notDelayed = spool('job', 'promote', 'mail', '3');
  assert.equal(notDelayed.status, 1);
  assert.equal(notDelayed.stderr, 'spool: job 3 in queue mail: not delayed: it is waiting\n');
  const served = await serve(store);
  try {
    assert.deepEqual(json(spool('job', 'promote', 'mail', '2', '--json')), { promoted: 1 });
    const refused = spool('job', 'promote', 'mail', '2');
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr, 'spool: job 2 in queue mail: not delayed: it is waiting\n');
    assert.match(spool('stats', 'mail').stdout, /mail\s+3\s+0\s+0\s+0\s+0/);
  } finally {
    await stop(served);
  }
});

void test('queue show and queue set read and change the stored settings, on a store and through its serve', async () => {
  const dir = join(root, 'settings');
  const store = `file:${dir}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  const shown = spool('queue', 'show', 'mail');
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^max attempts {4}5$/m);
  assert.match(shown.stdout, /^keep completed {2}1000, for 1d$/m);
  assert.match(shown.stdout, /^keep dead {7}unlimited, for ever$/m);
  const set = json(
    spool(
      'queue',
      'set',
      'mail',
      '--max-attempts',
      'unlimited',
      '--backoff',
      'exponential:1s:1h',
      '--keep-dead',
      '100,7d',
      '--json',
    ),
  ) as { maxAttempts: number | null; backoff: unknown; visibility: number; keepDead: unknown };
  assert.equal(set.maxAttempts, null);
  assert.deepEqual(set.backoff, { type: 'exponential', delay: 1000, maxDelay: 3_600_000, jitter: 0 });
  assert.deepEqual(set.keepDead, { count: 100, age: 604_800_000 });
  assert.equal(set.visibility, 30_000, 'a setting not given keeps its value');
  // What a worker of this store sees: the stored settings, not the defaults.
  {
    await using local = await open(store);
    assert.equal((await local.queue('mail').settings()).maxAttempts, Infinity);
  }
  // Bad input is a usage error: exit 2.
  const nothing = spool('queue', 'set', 'mail');
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /give one of --max-attempts/);
  assert.equal(spool('queue', 'set', 'mail', '--max-length', '0').status, 2);

  const served = await serve(store);
  try {
    const remote = json(
      spool('queue', 'set', 'mail', '--visibility', '1m', '--max-length', '2', '--keep-completed', '10,1h', '--json'),
    ) as { maxLength: number; visibility: number; keepCompleted: unknown; maxAttempts: number | null };
    assert.deepEqual(
      [remote.maxLength, remote.visibility, remote.keepCompleted, remote.maxAttempts],
      [2, 60_000, { count: 10, age: 3_600_000 }, null],
    );
    const text = spool('queue', 'show', 'mail');
    assert.match(text.stdout, /^max length {6}2$/m);
    assert.match(text.stdout, /^visibility {6}1m$/m);
    assert.match(text.stdout, /^max attempts {4}unlimited$/m);
    // The server enforces what was set through it.
    assert.equal(spool('add', 'mail', '1').status, 0);
    assert.equal(spool('add', 'mail', '2').status, 0);
    assert.equal(spool('add', 'mail', '3').status, 1);
  } finally {
    await stop(served);
  }
  assert.match(spool('queue', 'show', 'mail').stdout, /^max length {6}2$/m);
});

void test('queue set --ttl none and --max-length none remove the TTL and the limit, on a store and through its serve', async () => {
  const dir = join(root, 'settings-none');
  const store = `file:${dir}`;
  const spool = (...args: string[]) => run(args, { SPOOL_STORE: store });
  type Limits = { ttl: number | null; maxLength: number | null; visibility: number };
  const limits = (...args: string[]) => {
    const { ttl, maxLength, visibility } = json(spool('queue', 'set', 'mail', ...args, '--json')) as Limits;
    return { ttl, maxLength, visibility };
  };
  assert.deepEqual(limits('--ttl', '1h', '--max-length', '5', '--visibility', '1m'), {
    ttl: 3_600_000,
    maxLength: 5,
    visibility: 60_000,
  });
  assert.deepEqual(limits('--ttl', 'none'), { ttl: null, maxLength: 5, visibility: 60_000 });
  assert.deepEqual(limits('--max-length', 'none'), { ttl: null, maxLength: null, visibility: 60_000 });
  const served = await serve(store);
  try {
    assert.deepEqual(limits('--ttl', '2h', '--max-length', '3'), { ttl: 7_200_000, maxLength: 3, visibility: 60_000 });
    assert.deepEqual(limits('--ttl', 'none', '--max-length', 'none'), {
      ttl: null,
      maxLength: null,
      visibility: 60_000,
    });
  } finally {
    await stop(served);
  }
  const text = spool('queue', 'show', 'mail').stdout;
  assert.match(text, /^max length {6}unlimited$/m);
  assert.match(text, /^ttl {13}none$/m);
});

void test('beside a serve with tokens, a command without the right token is told to give one', async () => {
  const dir = join(root, 'served-with-token');
  const store = `file:${dir}`;
  const token = 'a-token-of-sixteen-chars';
  const served = await serve(store, undefined, { args: ['--token', token] });
  try {
    const tokens: Record<string, string>[] = [{}, { SPOOL_TOKEN: 'not-the-token-0123456789' }];
    for (const env of tokens) {
      const refused = run(['stats'], { SPOOL_STORE: store, ...env });
      assert.equal(refused.status, 1);
      // Before: 'spool: an Authorization: Bearer <token> header is required', nothing of what to do.
      assert.match(
        refused.stderr,
        /^spool: the server refused the call: .+ \(give its token with --token or SPOOL_TOKEN\)\n$/,
      );
    }
    assert.equal(run(['stats'], { SPOOL_STORE: store, SPOOL_TOKEN: token }).status, 0);
  } finally {
    await stop(served);
  }
});

void test('a data directory another command holds is still refused as LOCKED', async () => {
  const store = `file:${join(root, 'worked')}`;
  const worker = spawn(process.execPath, [...cli, 'work', 'jobs', '--', 'true'], {
    env: { ...process.env, SPOOL_STORE: store },
  });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  try {
    for (const deadline = Date.now() + 20_000; !existsSync(join(root, 'worked', 'LOCK'));) {
      assert.ok(Date.now() < deadline, 'work did not open the directory');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const refused = run(['add', 'jobs', '1'], { SPOOL_STORE: store });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`in use by process ${worker.pid}`));
  } finally {
    worker.kill('SIGTERM');
    await exited;
  }
});

void test('a data directory a serve without --http holds is refused as LOCKED naming the serve, its RESP address and --http', async () => {
  const dir = join(root, 'resp-only');
  const store = `file:${dir}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SPOOL_HTTP;
  const served = spawn(process.execPath, [...cli, 'serve', '--store', store, '--resp', '127.0.0.1:0'], { env });
  const exited = new Promise((resolve) => served.once('exit', resolve));
  let out = '';
  served.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  served.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    for (const deadline = Date.now() + 20_000; !/"resp":"[^"]+"/.test(out);) {
      assert.ok(Date.now() < deadline, `serve did not start: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const resp = /"resp":"([^"]+)"/.exec(out)?.[1] as string;
    const refused = run(['stats'], { SPOOL_STORE: store });
    assert.equal(refused.status, 1);
    assert.equal(
      refused.stderr,
      `spool: ${dir} is held by spool serve (process ${served.pid}) without --http, serving the Disque protocol ` +
        `on ${resp}: commands reach a serve over HTTP only; give the serve --http too and they run beside it\n`,
    );
  } finally {
    served.kill('SIGTERM');
    await exited;
  }
  assert.equal(existsSync(join(dir, 'SERVING.json')), false, 'serve removes its record when it stops');
});

/** `spool work` on `store` until the returned `stop`; `exited` resolves with its exit code. */
function startWork(store: string, args: readonly string[]) {
  const worker = spawn(process.execPath, [...cli, 'work', ...args], {
    env: { ...process.env, SPOOL_STORE: store },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
  return { worker, exited, stderr: () => stderr };
}

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !done();) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

void test('work: a stop waits --grace for a running command, then kills it and hands its job back; a second signal does not wait', async () => {
  const dir = join(root, 'grace');
  const store = `file:${dir}`;
  {
    await using spool = await open(store);
    await spool.queue('jobs').add('slow');
  }
  const started = join(root, 'grace-started');
  // `exec`: the signal reaches the sleep itself, not a shell waiting for it.
  const command = ['sh', '-c', `cat > /dev/null; echo run >> ${started}; exec sleep 60`];
  const waitedFor = async (args: string[], signals: number): Promise<number> => {
    const run = startWork(store, [...args, 'jobs', '--', ...command]);
    const runs = existsSync(started) ? readFileSync(started, 'utf8').length : 0;
    await until(
      'work did not start the command',
      () => existsSync(started) && readFileSync(started, 'utf8').length > runs,
    );
    const from = Date.now();
    for (let i = 0; i < signals; i++) {
      run.worker.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const code = await Promise.race([
      run.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000)),
    ]);
    if (code === 'hung') run.worker.kill('SIGKILL');
    assert.equal(code, 0, `work exited with ${String(code)}: ${run.stderr()}`);
    return Date.now() - from;
  };
  const check = async (): Promise<void> => {
    await using spool = await open(store);
    const [job] = (await spool.queue('jobs').list('waiting')).jobs;
    // Handed back as fresh: waiting, its attempt not counted.
    assert.deepEqual([job?.data, job?.attempts], ['slow', 0]);
  };
  // One signal, a short grace: the sleep is killed once it is over.
  assert.ok((await waitedFor(['--grace', '500ms'], 1)) >= 500);
  await check();
  // A grace of an hour, and a second signal: no waiting it out.
  await waitedFor(['--grace', '1h'], 2);
  await check();
  const bad = run(['work', 'jobs', '--grace', 'soon', '--', 'true'], { SPOOL_STORE: store });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--grace: "soon" is not a duration/);
});

void test('work: a command past --timeout is killed and its attempt fails, on a store and through a server', async () => {
  // `exec`: the signal reaches the sleep itself, not a shell waiting for it.
  const command = ['sh', '-c', 'cat > /dev/null; exec sleep 60'];
  const timedOut = async (store: string): Promise<void> => {
    const run = startWork(store, ['--timeout', '300ms', 'jobs', '--', ...command]);
    await until('work did not stop the command at its timeout', () => /timed out after 300ms/.test(run.stderr()));
    run.worker.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr());
  };
  const failed = (info: { state: string; attempts: number; errors: readonly string[] } | null): void => {
    assert.deepEqual([info?.state, info?.attempts], ['dead', 1]);
    assert.match(info?.errors[0] ?? '', /^TimeoutError: job \S+ timed out after 300ms$/);
  };
  const local = `file:${join(root, 'timeout')}`;
  {
    await using spool = await open(local);
    await spool.queue('jobs').add('slow', { maxAttempts: 1 });
  }
  await timedOut(local);
  {
    await using spool = await open(local);
    failed(await spool.queue('jobs').get('1'));
  }
  // A directory spool serve holds: work runs through the server, with the remote worker.
  const served = await serve(`file:${join(root, 'timeout-served')}`);
  try {
    const q = connect(served.base).queue('jobs');
    const id = await q.add('slow', { maxAttempts: 1 });
    await timedOut(`file:${join(root, 'timeout-served')}`);
    failed(await q.get(id));
  } finally {
    await stop(served);
  }
  const bad = run(['work', 'jobs', '--timeout', 'soon', '--', 'true'], { SPOOL_STORE: local });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--timeout: "soon" is not a duration/);
});

void test('work through a serve that refuses its token exits 1 with the refusal, rather than staying up doing nothing', async () => {
  const store = `file:${join(root, 'work-refused')}`;
  const served = await serve(store, undefined, { args: ['--token', 'a-token-of-sixteen-chars'] });
  try {
    const run = spawn(process.execPath, [...cli, 'work', 'jobs', '--', 'true'], {
      env: { ...process.env, SPOOL_STORE: store, SPOOL_TOKEN: 'not-the-token-0123456789' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await Promise.race([
      new Promise<number | null>((resolve) => run.once('exit', resolve)),
      new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 20_000)),
    ]);
    if (code === 'running') run.kill('SIGKILL');
    assert.equal(code, 1, stderr);
    assert.match(stderr, /unknown bearer token/);
    assert.match(stderr, /the worker stopped: the server refused its leases/);
  } finally {
    await stop(served);
  }
});

void test('work: a command that exits without reading its stdin is acked, and work goes on', async () => {
  const store = `file:${join(root, 'unread')}`;
  {
    await using spool = await open(store);
    // Past a pipe's 64 KiB: the write to the command's stdin fails once it has exited.
    await spool.queue('jobs').add('x'.repeat(500_000));
    await spool.queue('jobs').add('small');
  }
  const seen = join(root, 'unread-seen');
  const run = startWork(store, ['jobs', '--', 'sh', '-c', `echo ran >> ${seen}`]);
  const ran = (): number => (existsSync(seen) ? readFileSync(seen, 'utf8').split('\n').length - 1 : 0);
  await until('work ran neither job', () => ran() === 2 || run.worker.exitCode !== null);
  run.worker.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  await using spool = await open(store);
  const counts = await spool.queue('jobs').counts();
  assert.deepEqual([counts.waiting, counts.active, counts.completed], [0, 0, 2]);
});
