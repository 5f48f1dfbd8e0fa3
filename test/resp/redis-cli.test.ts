// Every Disque command through redis-cli, as an operator would type it, checking the reply's
// RESP type as redis-cli shows it: status bare, bulk "quoted", (integer), (nil), (error).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/index.ts';
import { until } from '../../src/conformance/harness.ts';
import { startResp } from './harness.ts';
import type { RunningResp } from './harness.ts';

let r: RunningResp;
before(async () => {
  r = await startResp({ nodeId: 'ab12cd34'.padEnd(40, '0') });
});
after(() => r.close());

const idShape = /^D-ab12cd34-[A-Za-z0-9+/]{24,}-[0-9a-f]{4}$/;

void test('ADDJOB answers a status job id in Disque shape, on this node, with the TTL part of Disque', async () => {
  const id = await r.cli('ADDJOB', 'cli-add', 'hello', '0');
  assert.match(id, idShape);
  assert.equal(id.length, 40, 'file and memory ids fit Disque’s 40 characters');
  assert.ok(id.endsWith('-05a1'), 'default TTL one day (1440 min = 0x5a0), odd as RETRY > 0');
  // As disque-server answers them: whole minutes, odd when retried (100 s: 1), even when not (60 s: 1 → 0).
  assert.ok((await r.cli('ADDJOB', 'cli-add', 'x', '0', 'RETRY', '0', 'TTL', '60')).endsWith('-0000'));
  assert.ok((await r.cli('ADDJOB', 'cli-add', 'x', '0', 'TTL', '100')).endsWith('-0001'));
  assert.ok((await r.cli('ADDJOB', 'cli-add', 'x', '0', 'TTL', '179', 'RETRY', '5')).endsWith('-0003'));
  assert.equal(await r.cli('QLEN', 'cli-add'), '(integer) 4');
});

void test('ADDJOB refuses bad options with Disque’s errors, in Disque’s order, and adds nothing', async () => {
  const refusals: [string[], string][] = [
    [['REPLICATE', '0'], 'ERR REPLICATE must be between 1 and 65535'],
    [['TTL', '0'], 'ERR TTL must be a number > 0'],
    [['RETRY', '-1'], 'ERR RETRY time must be a non negative number'],
    [['DELAY', 'x'], 'ERR DELAY time must be a non negative number'],
    [['MAXLEN', '0'], 'ERR MAXLEN must be a positive number'],
    [['BOGUS'], 'ERR syntax error'],
    [
      ['TTL', '10', 'DELAY', '10'],
      'ERR The specified DELAY is greater than TTL. Job refused since would never be delivered',
    ],
  ];
  for (const [options, error] of refusals)
    assert.equal(await r.cli('ADDJOB', 'cli-refused', 'x', '0', ...options), `(error) ${error}`);
  assert.equal(
    await r.cli('ADDJOB', 'cli-refused', 'x', 'soon'),
    '(error) ERR timeout is not an integer or out of range',
  );
  assert.equal(await r.cli('ADDJOB', 'cli-refused', 'x'), "(error) ERR wrong number of arguments for 'addjob' command");
  assert.equal(await r.cli('QLEN', 'cli-refused'), '(integer) 0');
});

void test('ADDJOB MAXLEN refuses a queue already that long; PAUSE in refuses every add', async () => {
  await r.cli('ADDJOB', 'cli-maxlen', 'a', '0');
  assert.equal(
    await r.cli('ADDJOB', 'cli-maxlen', 'b', '0', 'MAXLEN', '1'),
    '(error) MAXLEN Queue is already longer than the specified MAXLEN count',
  );
  assert.equal(await r.cli('PAUSE', 'cli-maxlen', 'in'), 'in');
  assert.equal(await r.cli('ADDJOB', 'cli-maxlen', 'c', '0'), '(error) PAUSED Queue paused in input, try later');
  assert.equal(await r.cli('PAUSE', 'cli-maxlen', 'none'), 'none');
  assert.match(await r.cli('ADDJOB', 'cli-maxlen', 'c', '0'), idShape);
  assert.equal(await r.cli('QLEN', 'cli-maxlen'), '(integer) 2');
});

void test('GETJOB takes queues left to right, answers [queue, id, body], and nil under NOHANG or TIMEOUT', async () => {
  const low = await r.cli('ADDJOB', 'cli-low', 'l', '0');
  const high = await r.cli('ADDJOB', 'cli-high', 'h', '0');
  assert.equal(await r.cli('GETJOB', 'FROM', 'cli-high', 'cli-low'), `1) 1) "cli-high"\n   2) "${high}"\n   3) "h"`);
  assert.equal(
    await r.cli('GETJOB', 'NOHANG', 'WITHCOUNTERS', 'FROM', 'cli-high', 'cli-low'),
    `1) 1) "cli-low"\n   2) "${low}"\n   3) "l"\n   4) "nacks"\n   5) (integer) 0\n   6) "additional-deliveries"\n   7) (integer) 0`,
  );
  assert.equal(await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-high', 'cli-low'), '(nil)');
  assert.equal(await r.cli('GETJOB', 'TIMEOUT', '20', 'FROM', 'cli-high'), '(nil)');
  assert.equal(
    await r.cli('GETJOB', 'COUNT', '0', 'FROM', 'cli-high'),
    '(error) ERR COUNT must be a number greater than zero',
  );
  assert.equal(await r.cli('GETJOB', 'NOHANG', 'cli-high'), '(error) ERR syntax error');
  assert.equal(await r.cli('GETJOB', 'FROM'), '(error) ERR syntax error');
});

void test('NACK puts a job back at once and counts a nack; ACKJOB then removes it, SHOW answers nil', async () => {
  const id = await r.cli('ADDJOB', 'cli-nack', 'n', '0');
  await r.cli('GETJOB', 'FROM', 'cli-nack');
  assert.equal(await r.cli('NACK', id), '(integer) 1');
  assert.equal(await r.cli('NACK', id), '(integer) 0', 'a queued job is not nacked again');
  const again = await r.cli('GETJOB', 'WITHCOUNTERS', 'FROM', 'cli-nack');
  assert.match(again, /4\) "nacks"\n {3}5\) \(integer\) 1\n {3}6\) "additional-deliveries"\n {3}7\) \(integer\) 0$/);
  assert.equal(await r.cli('ACKJOB', id), '(integer) 1');
  assert.equal(await r.cli('ACKJOB', id), '(integer) 0');
  assert.equal(await r.cli('SHOW', id), '(nil)');
  assert.equal(await r.cli('ACKJOB'), '(integer) 0');
  assert.equal(await r.cli('ACKJOB', id, 'not-an-id'), '(error) BADID Invalid Job ID format.');
});

void test('ACKJOB removes a job in any state; FASTACK and DELJOB too; ENQUEUE puts a leased job back', async () => {
  const queued = await r.cli('ADDJOB', 'cli-ack', 'q', '0');
  assert.equal(await r.cli('ACKJOB', queued), '(integer) 1');
  assert.equal(await r.cli('QLEN', 'cli-ack'), '(integer) 0');
  const leased = await r.cli('ADDJOB', 'cli-ack', 'l', '0');
  await r.cli('GETJOB', 'FROM', 'cli-ack');
  assert.equal(await r.cli('ENQUEUE', leased), '(integer) 1');
  assert.equal(await r.cli('QLEN', 'cli-ack'), '(integer) 1');
  assert.equal(await r.cli('FASTACK', leased), '(integer) 1');
  const deleted = await r.cli('ADDJOB', 'cli-ack', 'd', '0', 'DELAY', '60');
  assert.equal(await r.cli('QLEN', 'cli-ack'), '(integer) 0', 'a delayed job is not queued');
  assert.equal(await r.cli('DELJOB', deleted), '(integer) 1');
  assert.equal(await r.cli('SHOW', deleted), '(nil)');
});

void test('DEQUEUE takes queued jobs out of their queue without deleting them; others count 0', async () => {
  const a = await r.cli('ADDJOB', 'cli-dequeue', 'a', '0', 'RETRY', '1');
  const b = await r.cli('ADDJOB', 'cli-dequeue', 'b', '0');
  assert.ok((await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-dequeue')).includes(a));
  const foreign = 'D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1';
  assert.equal(await r.cli('DEQUEUE', b, a, foreign), '(integer) 1', 'a is handed out, not queued');
  assert.equal(await r.cli('QLEN', 'cli-dequeue'), '(integer) 0');
  assert.equal(await r.cli('DEQUEUE', b), '(integer) 0', 'no longer queued');
  assert.match(await r.cli('SHOW', b), /"state"\n\s*6\) "active"/);
  assert.equal(await r.cli('NACK', a), '(integer) 1');
  assert.equal(await r.cli('DEQUEUE', a), '(integer) 1');
  assert.equal(await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-dequeue'), '(nil)');
  assert.equal(await r.cli('DEQUEUE', 'bad'), '(error) BADID Invalid Job ID format.');
  // Queued again after its RETRY, as Disque requeues an active job.
  assert.ok((await r.cli('GETJOB', 'TIMEOUT', '3000', 'FROM', 'cli-dequeue')).includes(a));
  assert.equal(await r.cli('ACKJOB', a, b), '(integer) 2');
});

void test('ENQUEUE and NACK put a DEQUEUEd job back in line at once; ENQUEUE makes a delayed job due', async () => {
  const held = await r.cli('ADDJOB', 'cli-requeue', 'held', '0');
  assert.equal(await r.cli('DEQUEUE', held), '(integer) 1');
  assert.equal(await r.cli('ENQUEUE', held), '(integer) 1');
  assert.equal(await r.cli('QLEN', 'cli-requeue'), '(integer) 1');
  assert.equal(await r.cli('DEQUEUE', held), '(integer) 1');
  assert.equal(await r.cli('NACK', held), '(integer) 1');
  assert.ok((await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-requeue')).includes(held));
  assert.equal(await r.cli('ACKJOB', held), '(integer) 1');
  const later = await r.cli('ADDJOB', 'cli-requeue', 'later', '0', 'DELAY', '60');
  assert.equal(await r.cli('ENQUEUE', later), '(integer) 1');
  assert.ok((await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-requeue')).includes(later));
  assert.equal(await r.cli('ENQUEUE', later), '(integer) 1', 'handed out: back in line');
  assert.equal(await r.cli('ENQUEUE', later), '(integer) 0', 'already queued');
});

void test('a GETJOB naming a queue no queue can have is an error, and QSCAN, JSCAN and INFO go on working', async () => {
  await r.cli('ADDJOB', 'cli-poison', 'j', '0');
  assert.match(await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-poison', 'my queue'), /^\(error\) ERR queue: must be/);
  assert.match(await r.cli('QSCAN', 'BUSYLOOP'), /"cli-poison"/);
  assert.match(await r.cli('JSCAN', 'BUSYLOOP'), /^1\) "0"/);
  assert.match(await r.cli('INFO'), /# Jobs/);
});

void test('WORKING answers the seconds it postponed; NOJOB for a job that is gone', async () => {
  const id = await r.cli('ADDJOB', 'cli-working', 'w', '0', 'RETRY', '7');
  await r.cli('GETJOB', 'FROM', 'cli-working');
  assert.equal(await r.cli('WORKING', id), '(integer) 7');
  await r.cli('ACKJOB', id);
  assert.equal(await r.cli('WORKING', id), '(error) NOJOB Job not known in the context of this node.');
});

void test(
  'the server reads time from the spool’s clock: SHOW, WORKING, GETJOB TIMEOUT, QSTAT, TIME',
  { timeout: 30_000 },
  async () => {
    // Years from the real time, so that an answer timed by the machine's clock is far off.
    const start = Date.UTC(2001, 0, 1);
    const clock = new ManualClock(start);
    const m = await startResp({ clock });
    const field = async (id: string, i: number): Promise<string | undefined> =>
      (await m.cli('SHOW', id)).split('\n')[i]?.replace(/^\s*\d+\) /, '');
    try {
      const id = await m.cli('ADDJOB', 'clock-q', 'c', '0', 'TTL', '100', 'RETRY', '10');
      clock.advance(30_000);
      assert.equal(await field(id, 9), '(integer) 70', 'ttl left');
      await m.cli('GETJOB', 'FROM', 'clock-q');
      assert.equal(await field(id, 25), '(integer) 10000', 'next-requeue-within');
      clock.advance(4_000);
      assert.equal(await m.cli('WORKING', id), '(integer) 10', 'postponed by RETRY, not refused as TOOLATE');
      assert.equal(await field(id, 25), '(integer) 10000');
      assert.match(await m.cli('QSTAT', 'clock-q'), /"age"\n\s*6\) \(integer\) 34\n/);
      assert.equal(await m.cli('TIME'), `1) "${(start + 34_000) / 1000}"\n2) "0"`);
      const timedOut = m.cli('GETJOB', 'TIMEOUT', '5000', 'FROM', 'clock-empty');
      const deadline = clock.now() + 5_000;
      while (!clock.armedFor(deadline)) await new Promise((resolve) => setTimeout(resolve, 5));
      clock.advance(5_000);
      assert.equal(await timedOut, '(nil)', 'GETJOB TIMEOUT ran out by the spool’s clock');
    } finally {
      await m.close();
    }
  },
);

void test(
  'GETJOB TIMEOUT ends after its time of elapsed time, over several store waits, whatever steps the wall clock takes',
  { timeout: 30_000 },
  async () => {
    const clock = new ManualClock();
    // A store wait of 1 s at most: TIMEOUT 2500 is three of them, 1000, 1000 and 500 ms.
    const m = await startResp({ clock, maxWait: 1000 });
    const waiting = (ms: number): Promise<void> =>
      until(() => clock.armedFor(clock.now() + ms), `a store wait of ${ms} ms`);
    try {
      let answered = false;
      const reply = m.cli('GETJOB', 'TIMEOUT', '2500', 'FROM', 'clock-steps').finally(() => (answered = true));
      await waiting(1000);
      // Forward an hour in the first wait: a deadline on the wall clock answered as it ended.
      clock.step(3_600_000);
      clock.advance(1000);
      await waiting(1000);
      // Back two hours in the second: a deadline on the wall clock waited another hour.
      clock.step(-7_200_000);
      clock.advance(1000);
      await waiting(500);
      assert.equal(answered, false);
      clock.advance(500);
      assert.equal(await reply, '(nil)');
    } finally {
      await m.close();
    }
  },
);

void test('an id in Disque’s shape that names no job here is unknown, not malformed, as on Disque', async () => {
  const foreign = 'D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1';
  assert.equal(await r.cli('SHOW', foreign), '(nil)');
  assert.equal(await r.cli('ACKJOB', foreign), '(integer) 0');
  assert.equal(await r.cli('NACK', foreign), '(integer) 0');
  assert.equal(await r.cli('WORKING', foreign), '(error) NOJOB Job not known in the context of this node.');
  assert.equal(await r.cli('ACKJOB', 'D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI'), '(error) BADID Invalid Job ID format.');
});

void test('SHOW answers Disque’s 30 fields in order, with integers where Disque has them', async () => {
  const id = await r.cli('ADDJOB', 'cli-show', 'body text', '0', 'TTL', '100', 'RETRY', '5');
  const lines = (await r.cli('SHOW', id)).split('\n').map((l) => l.replace(/^\s*\d+\) /, ''));
  assert.equal(lines.length, 30);
  const fields = lines.filter((_, i) => i % 2 === 0).map((f) => JSON.parse(f) as string);
  assert.deepEqual(fields, [
    'id',
    'queue',
    'state',
    'repl',
    'ttl',
    'ctime',
    'delay',
    'retry',
    'nacks',
    'additional-deliveries',
    'nodes-delivered',
    'nodes-confirmed',
    'next-requeue-within',
    'next-awake-within',
    'body',
  ]);
  assert.equal(lines[1], `"${id}"`);
  assert.equal(lines[3], '"cli-show"');
  assert.equal(lines[5], '"queued"');
  assert.equal(lines[7], '(integer) 1');
  assert.match(lines[9] as string, /^\(integer\) (99|100)$/);
  assert.match(lines[11] as string, /^\(integer\) \d{19}$/);
  assert.equal(lines[15], '(integer) 5', 'RETRY as given (goware/disque’s Fetch reads it as Job.Retry)');
  assert.equal(lines[29], '"body text"');
  const atMostOnce = await r.cli('ADDJOB', 'cli-show', 'once', '0', 'RETRY', '0');
  assert.equal((await r.cli('SHOW', atMostOnce)).split('\n')[15]?.replace(/^\s*\d+\) /, ''), '(integer) 0');
  assert.equal(await r.cli('SHOW', 'D-ab12cd34-short-0000'), '(error) BADID Invalid Job ID format.');
});

void test('QPEEK shows jobs oldest first (newest first for a negative count) without taking them', async () => {
  const ids = [];
  for (const body of ['a', 'b', 'c']) ids.push(await r.cli('ADDJOB', 'cli-peek', body, '0'));
  assert.equal(
    await r.cli('QPEEK', 'cli-peek', '2'),
    `1) 1) "cli-peek"\n   2) "${ids[0]}"\n   3) "a"\n2) 1) "cli-peek"\n   2) "${ids[1]}"\n   3) "b"`,
  );
  assert.match(
    await r.cli('QPEEK', 'cli-peek', '-1'),
    new RegExp(`^1\\) 1\\) "cli-peek"\\n   2\\) "${ids[2]?.replaceAll('+', '\\+')}"`),
  );
  assert.equal(await r.cli('QPEEK', 'cli-nothing', '5'), '(empty array)');
  assert.equal(await r.cli('QPEEK', 'cli-peek', 'x'), '(error) ERR value is not an integer or out of range');
  assert.equal(await r.cli('QLEN', 'cli-peek'), '(integer) 3');
});

void test('QSTAT answers 20 fields for a known queue, nil for an unknown one; PAUSE out is spool’s pause', async () => {
  await r.cli('ADDJOB', 'cli-stat', 's', '0');
  const stat = (await r.cli('QSTAT', 'cli-stat')).split('\n');
  assert.equal(stat.length, 20);
  assert.equal(stat[3]?.trim(), '4) (integer) 1');
  assert.equal(await r.cli('QSTAT', 'cli-never'), '(nil)');
  assert.equal(await r.cli('PAUSE', 'cli-stat', 'out'), 'out');
  assert.equal((await r.spool.queue('cli-stat').counts()).paused, true, 'the pause is the store’s');
  assert.equal(await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-stat'), '(nil)');
  assert.equal(await r.cli('PAUSE', 'cli-stat', 'in', 'out'), 'all');
  assert.equal(await r.cli('PAUSE', 'cli-stat', 'state'), 'all');
  await r.spool.queue('cli-stat').resume();
  assert.equal(await r.cli('PAUSE', 'cli-stat', 'state'), 'in', 'a resume by the library shows here');
  assert.equal(await r.cli('PAUSE', 'cli-stat', 'sideways'), '(error) ERR syntax error');
  assert.equal(await r.cli('PAUSE', 'cli-stat', 'none'), 'none');
});

void test('QSTAT counts this node’s jobs in and out and the GETJOBs blocked on the queue', async () => {
  const field = async (name: string): Promise<string> => {
    const lines = (await r.cli('QSTAT', 'cli-counted')).split('\n').map((l) => l.replace(/^ *\d+\) /, ''));
    return lines[lines.indexOf(`"${name}"`) + 1] as string;
  };
  await r.cli('ADDJOB', 'cli-counted', 'a', '0');
  await r.cli('ADDJOB', 'cli-counted', 'b', '0');
  await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-counted');
  assert.equal(await field('jobs-in'), '(integer) 2');
  assert.equal(await field('jobs-out'), '(integer) 1');
  await r.cli('GETJOB', 'NOHANG', 'FROM', 'cli-counted');
  const blocked = r.cli('GETJOB', 'TIMEOUT', '10000', 'FROM', 'cli-counted');
  for (let i = 0; i < 100 && (await field('blocked')) !== '(integer) 1'; i++)
    await new Promise((f) => setTimeout(f, 20));
  assert.equal(await field('blocked'), '(integer) 1');
  await r.cli('ADDJOB', 'cli-counted', 'c', '0');
  assert.match(await blocked, /"c"/);
  assert.equal(await field('blocked'), '(integer) 0');
  assert.equal(await field('jobs-out'), '(integer) 3');
  assert.equal(await field('idle'), '(integer) 0');
});

void test('QSCAN and JSCAN walk queues and jobs with a cursor', async () => {
  const id = await r.cli('ADDJOB', 'cli-scan', 'j', '0');
  const queues = await r.cli('QSCAN', 'BUSYLOOP');
  assert.match(queues, /^1\) "0"\n2\) /);
  assert.ok(queues.includes('"cli-scan"'));
  assert.match(await r.cli('QSCAN', 'COUNT', '1'), /^1\) "1"\n2\) 1\) "cli-/);
  assert.equal(await r.cli('JSCAN', 'QUEUE', 'cli-scan', 'STATE', 'queued'), `1) "0"\n2) 1) ${id}`);
  assert.equal(await r.cli('JSCAN', 'QUEUE', 'cli-scan', 'STATE', 'active'), '1) "0"\n2) (empty array)');
  assert.match(await r.cli('JSCAN', 'QUEUE', 'cli-scan', 'REPLY', 'all'), /^1\) "0"\n2\) 1\) {2}1\) "id"/);
  assert.equal(await r.cli('JSCAN', 'STATE', 'lost'), '(error) ERR Invalid job state name');
  assert.equal(await r.cli('JSCAN', 'REPLY', 'some'), '(error) ERR Invalid REPLY type, try ID or ALL');
  assert.equal(await r.cli('JSCAN', '0', '0'), '(error) ERR syntax error');
});

void test('QSCAN, JSCAN and INFO know the queues the store lists, though this node never saw them named', async () => {
  // Jobs added over HTTP, by the library, by another node, or before this node started.
  await r.spool.queue('cli-elsewhere').addBulk([{ data: 'a' }, { data: 'b' }]);
  assert.ok((await r.cli('QSCAN', 'BUSYLOOP', 'MINLEN', '2')).includes('"cli-elsewhere"'));
  const jobs = await r.cli('JSCAN', 'BUSYLOOP', 'REPLY', 'all');
  assert.equal(jobs.split('"cli-elsewhere"').length - 1, 2, jobs);
  const info = await r.cli('INFO', 'queues');
  assert.equal(Number(/registered_queues:(\d+)/.exec(info)?.[1]), (await r.spool.queues()).length);
});

void test('HELLO, CLUSTER NODES and INFO, PING, TIME, INFO, COMMAND, AUTH and unknown commands', async () => {
  const node = 'ab12cd34'.padEnd(40, '0');
  assert.equal(
    await r.cli('HELLO'),
    `1) (integer) 1\n2) "${node}"\n3) 1) "${node}"\n   2) "127.0.0.1"\n   3) "${r.port}"\n   4) "1"`,
  );
  assert.match(await r.cli('HELLO', '3'), /^\(error\) NOPROTO /);
  assert.equal(await r.cli('CLUSTER', 'NODES'), `${node} 127.0.0.1:${r.port} myself 0 0 connected`);
  assert.match(await r.cli('CLUSTER', 'INFO'), /^cluster_state:ok\r\ncluster_known_nodes:1\r\n/);
  assert.equal(await r.cli('PING'), 'PONG');
  assert.equal(await r.cli('PING', 'hi'), '"hi"');
  assert.match(await r.cli('TIME'), /^1\) "\d{10}"\n2\) "\d+"$/);
  assert.match(await r.cli('INFO'), /disque_version:/);
  await r.cli('ADDJOB', 'cli-info', 'i', '0');
  assert.match(await r.cli('INFO', 'jobs'), /^# Jobs\r\nregistered_jobs:[1-9]\d*$/);
  assert.equal(await r.cli('COMMAND'), '(empty array)');
  assert.equal(await r.cli('AUTH', 'secret'), '(error) ERR Client sent AUTH, but no password is set');
  assert.equal(await r.cli('FLUSHALL'), "(error) ERR unknown command 'FLUSHALL'");
  assert.equal(await r.cli('SHOW'), "(error) ERR wrong number of arguments for 'show' command");
  assert.equal(await r.cli('QUIT'), 'OK');
});

void test('with tokens, commands need AUTH, and a token’s scopes and prefix bound what it may do', async () => {
  const admin = 'admin-token-0123456789';
  const reader = 'reader-token-0123456789';
  const guarded = await startResp({
    tokens: [
      { token: admin, scopes: ['admin'], prefix: '' },
      { token: reader, scopes: ['consume'], prefix: 'mine.' },
    ],
  });
  try {
    assert.equal(await guarded.cli('QLEN', 'q'), '(error) NOAUTH Authentication required.');
    assert.equal(await guarded.cli('PING'), 'PONG');
    assert.equal(await guarded.cli('-a', admin, '--no-auth-warning', 'QLEN', 'q'), '(integer) 0');
    assert.equal(
      await guarded.cli('-a', 'wrong-token-0123456789', '--no-auth-warning', 'QLEN', 'q'),
      '(error) NOAUTH Authentication required.',
    );
    assert.match(
      await guarded.cli('-a', reader, '--no-auth-warning', 'ADDJOB', 'mine.q', 'x', '0'),
      /^\(error\) NOPERM /,
    );
    assert.match(
      await guarded.cli('-a', reader, '--no-auth-warning', 'GETJOB', 'NOHANG', 'FROM', 'other'),
      /^\(error\) NOPERM /,
    );
    assert.equal(await guarded.cli('-a', reader, '--no-auth-warning', 'GETJOB', 'NOHANG', 'FROM', 'mine.q'), '(nil)');
  } finally {
    await guarded.close();
  }
});
