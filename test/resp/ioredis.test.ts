// A Redis client library against the Disque server: pipelines, a blocked GETJOB woken by
// another connection's ADDJOB, and jobs crossing between RESP and the library both ways.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startResp } from './harness.ts';
import type { RunningResp } from './harness.ts';
import type { LeasedJob } from '../../src/index.ts';

let r: RunningResp;
const clients: Redis[] = [];
const client = (connectionName?: string): Redis => {
  const c = new Redis({ port: r.port, lazyConnect: true, maxRetriesPerRequest: 0, connectionName });
  clients.push(c);
  return c;
};

before(async () => {
  r = await startResp();
});
after(async () => {
  for (const c of clients) c.disconnect();
  await r.close();
});

void test('a pipeline of 10,000 ADDJOBs is answered in order, each with its own id', async () => {
  const c = client();
  const pipeline = c.pipeline();
  for (let i = 0; i < 10_000; i++) pipeline.call('ADDJOB', 'io-pipe', `job ${i}`, '0');
  const results = (await pipeline.exec()) ?? [];
  assert.equal(results.length, 10_000);
  const ids = results.map(([error, id]) => {
    assert.equal(error, null);
    return id as string;
  });
  assert.equal(new Set(ids).size, 10_000);
  assert.equal(await c.call('QLEN', 'io-pipe'), 10_000);
  const peeked = (await c.call('QPEEK', 'io-pipe', '3')) as string[][];
  assert.deepEqual(
    peeked.map((job) => [job[1], job[2]]),
    [0, 1, 2].map((i) => [ids[i], `job ${i}`]),
    'the store has them in the order they were sent',
  );
});

void test('a pipeline mixing ADDJOB, GETJOB and ACKJOB runs each command after the ones before it', async () => {
  const c = client();
  const pipeline = c.pipeline();
  for (let i = 0; i < 100; i++) {
    pipeline.call('ADDJOB', 'io-mixed', `m${i}`, '0');
    pipeline.call('GETJOB', 'NOHANG', 'FROM', 'io-mixed');
  }
  const results = (await pipeline.exec()) ?? [];
  const acks = c.pipeline();
  for (let i = 0; i < 100; i++) {
    const id = results[2 * i]?.[1] as string;
    const got = results[2 * i + 1]?.[1] as string[][];
    assert.deepEqual(got, [['io-mixed', id, `m${i}`]], 'each GETJOB sees the ADDJOB sent just before it');
    acks.call('ACKJOB', id);
  }
  assert.deepEqual(
    ((await acks.exec()) ?? []).map(([, n]) => n),
    Array.from({ length: 100 }, () => 1),
  );
  assert.equal(await c.call('QLEN', 'io-mixed'), 0);
});

void test('in a pipeline, ADDJOB MAXLEN sees the queue as the commands before it left it', async () => {
  const c = client();
  const first = (await c.call('ADDJOB', 'io-maxlen', 'first', '0')) as string;
  const pipeline = c.pipeline();
  pipeline.call('ACKJOB', first);
  for (let i = 0; i < 4; i++) pipeline.call('ADDJOB', 'io-maxlen', `m${i}`, '0', 'MAXLEN', '2');
  pipeline.call('QLEN', 'io-maxlen');
  const results = (await pipeline.exec()) ?? [];
  assert.deepEqual(
    results.map(([error, value]) => (error === null ? typeof value : error.message)),
    [
      'number',
      'string',
      'string',
      'MAXLEN Queue is already longer than the specified MAXLEN count',
      'MAXLEN Queue is already longer than the specified MAXLEN count',
      'number',
    ],
  );
  assert.equal(results[5]?.[1], 2);
});

void test('a client with a connection name (CLIENT SETNAME as it connects) works, and reads its name back', async () => {
  const named = client('worker-1');
  assert.equal(await named.call('CLIENT', 'GETNAME'), 'worker-1');
  assert.match(String(await named.call('ADDJOB', 'io-named', 'n', '0')), /^D-/);
  await assert.rejects(named.call('CLIENT', 'SETNAME', 'two words'), /Client names cannot contain spaces/);
  await assert.rejects(named.call('CLIENT', 'LIST'), /Syntax error, try CLIENT/);
  assert.equal(await named.call('CLIENT', 'SETNAME', ''), 'OK');
  assert.equal(await named.call('CLIENT', 'GETNAME'), null);
  assert.equal(await client().call('CLIENT', 'GETNAME'), null, 'a name is its connection’s own');
});

void test('a GETJOB blocked on one connection is woken by an ADDJOB on another', async () => {
  const consumer = client();
  const producer = client();
  await consumer.connect();
  // The server counts each command it runs (INFO's own included): the GETJOB is blocked in the
  // server once the count passes what the producer's INFOs account for.
  const commands = async () =>
    Number(/total_commands_processed:(\d+)/.exec((await producer.call('INFO', 'stats')) as string)?.[1]);
  const before = await commands();
  const blocked = consumer.call('GETJOB', 'FROM', 'io-empty', 'io-wake') as Promise<string[][]>;
  for (let infos = 1; (await commands()) - before - infos < 1; infos++)
    await new Promise((resolve) => setImmediate(resolve));
  const id = (await producer.call('ADDJOB', 'io-wake', 'wake up', '0')) as string;
  assert.deepEqual(await blocked, [['io-wake', id, 'wake up']]);
});

void test('a job added with the library is acked over RESP, and one added over RESP is leased by the library', async () => {
  const c = client();
  const queue = r.spool.queue('io-cross');
  const fromLibrary = await queue.add('library body');
  const [[, id, body] = []] = (await c.call('GETJOB', 'FROM', 'io-cross')) as string[][];
  assert.equal(body, 'library body');
  assert.equal(await c.call('ACKJOB', id as string), 1);
  assert.equal((await queue.get(fromLibrary))?.state, 'completed', 'the RESP ack is the library’s ack');

  const respId = (await c.call('ADDJOB', 'io-cross', 'resp body', '0')) as string;
  const [leased] = await queue.lease();
  assert.equal(leased?.data, 'resp body');
  assert.equal(await c.call('SHOW', respId).then((s) => (s as unknown[])[5]), 'active');
  await leased?.ack();
  assert.equal(await c.call('SHOW', respId), null);
});

void test('a consumer that never ACKs gets the job again after RETRY, counted as an additional delivery', async () => {
  const c = client();
  const id = (await c.call('ADDJOB', 'io-retry', 'again', '0', 'RETRY', '1')) as string;
  await c.call('GETJOB', 'FROM', 'io-retry');
  const again = (await c.call('GETJOB', 'WITHCOUNTERS', 'FROM', 'io-retry')) as unknown[][];
  assert.deepEqual(again, [['io-retry', id, 'again', 'nacks', 0, 'additional-deliveries', 1]]);
});

void test('one connection sending GETJOB again with other arguments, or a name in other case, gets what those ask for', async () => {
  const c = client();
  for (const body of ['a', 'b', 'c', 'd']) await c.call('ADDJOB', 'io-again', body, '0');
  await c.call('ADDJOB', 'io-again-2', 'e', '0');
  const bodies = (reply: unknown): string[] => ((reply ?? []) as string[][]).map((job) => job[2] as string);
  assert.deepEqual(bodies(await c.call('GETJOB', 'NOHANG', 'COUNT', '1', 'FROM', 'io-again')), ['a']);
  assert.deepEqual(bodies(await c.call('GETJOB', 'NOHANG', 'COUNT', '2', 'FROM', 'io-again')), ['b', 'c']);
  assert.deepEqual(bodies(await c.call('getjob', 'NOHANG', 'COUNT', '2', 'FROM', 'io-again-2')), ['e']);
  assert.deepEqual(bodies(await c.call('GetJob', 'NOHANG', 'COUNT', '2', 'FROM', 'io-again')), ['d']);
  assert.equal(await c.call('GETJOB', 'NOHANG', 'COUNT', '2', 'FROM', 'io-again'), null);
  await assert.rejects(
    c.call('GETJOB', 'NOHANG', 'COUNT', '0', 'FROM', 'io-again'),
    /COUNT must be a number greater than zero/,
  );
  await assert.rejects(c.call('GETJOBS', 'FROM', 'io-again'), /unknown command 'GETJOBS'/);
});

/**
 * A job this connection was handed, whose RETRY ran out and which the library leased again: the
 * connection's handed-out lease is stale, the library's is current.
 */
async function handedThenReleased(c: Redis, queue: string, body: string): Promise<{ id: string; again: LeasedJob }> {
  const id = (await c.call('ADDJOB', queue, body, '0', 'RETRY', '1')) as string;
  assert.equal(((await c.call('GETJOB', 'FROM', queue)) as string[][])[0]?.[1], id);
  const [again] = await r.spool.lease({ queues: [queue], wait: '5s' });
  assert.equal(again?.attempt, 2, 'leased again by the library once the first lease ran out');
  return { id, again };
}

void test('ACKJOB of one id whose handed-out lease ran out and went to someone else acks their lease, counted once', async () => {
  const c = client();
  const { id, again } = await handedThenReleased(c, 'io-stale-one', 'once');
  assert.equal(await c.call('ACKJOB', id), 1);
  await assert.rejects(again.ack(), { name: 'LeaseLostError' });
  assert.equal(await c.call('SHOW', id), null);
});

void test('NACK and then ACKJOB of a job this connection was handed: each acts on the job, another job untouched', async () => {
  const c = client();
  const id = (await c.call('ADDJOB', 'io-handed', 'first', '0')) as string;
  assert.equal(((await c.call('GETJOB', 'FROM', 'io-handed')) as string[][])[0]?.[1], id);
  assert.equal(await c.call('NACK', id), 1);
  const got = (await c.call('GETJOB', 'WITHCOUNTERS', 'FROM', 'io-handed')) as unknown[][];
  assert.deepEqual(got, [['io-handed', id, 'first', 'nacks', 1, 'additional-deliveries', 0]]);
  const other = (await c.call('ADDJOB', 'io-handed', 'second', '0')) as string;
  assert.equal(await c.call('ACKJOB', id), 1);
  assert.equal(await c.call('SHOW', id), null);
  assert.equal(await c.call('QLEN', 'io-handed'), 1, 'the other job still queued');
  assert.equal(((await c.call('GETJOB', 'FROM', 'io-handed')) as string[][])[0]?.[1], other);
});

void test('ENQUEUE of a job this connection was handed: back in line at once, its next delivery an additional one, no nack', async () => {
  const c = client();
  const id = (await c.call('ADDJOB', 'io-enqueued', 'first', '0')) as string;
  const other = (await c.call('ADDJOB', 'io-enqueued', 'second', '0')) as string;
  assert.equal(((await c.call('GETJOB', 'FROM', 'io-enqueued')) as string[][])[0]?.[1], id);
  assert.equal(await c.call('ENQUEUE', id), 1);
  // As Disque's enqueueJob counts every requeue that is not a NACK (num_deliv), and at its old place in line.
  const got = (await c.call('GETJOB', 'WITHCOUNTERS', 'FROM', 'io-enqueued')) as unknown[][];
  assert.deepEqual(got, [['io-enqueued', id, 'first', 'nacks', 0, 'additional-deliveries', 1]]);
  const next = (await c.call('GETJOB', 'WITHCOUNTERS', 'FROM', 'io-enqueued')) as unknown[][];
  assert.deepEqual(next, [['io-enqueued', other, 'second', 'nacks', 0, 'additional-deliveries', 0]]);
  assert.equal(await c.call('ACKJOB', id, other), 2);
});

void test('ACKJOB after the RETRY ran out and someone else leased the job acks their lease, not the one this connection was handed', async () => {
  const c = client();
  const { id, again } = await handedThenReleased(c, 'io-stale', 'twice');
  assert.equal(await c.call('ACKJOB', id, id), 1, 'named twice, acked and counted once');
  await assert.rejects(again.ack(), { name: 'LeaseLostError' });
  assert.equal(await c.call('SHOW', id), null);
  assert.equal(await c.call('ACKJOB', id), 0, 'already acked');
});

void test('ACKJOB of jobs this connection was handed: one named twice is counted once; a malformed id among them acks none', async () => {
  const c = client();
  const ids: string[] = [];
  for (const body of ['a', 'b', 'c']) ids.push((await c.call('ADDJOB', 'io-handed-many', body, '0')) as string);
  const got = (await c.call('GETJOB', 'COUNT', '3', 'FROM', 'io-handed-many')) as string[][];
  assert.deepEqual(
    got.map((job) => job[1]),
    ids,
  );
  const [a, b, d] = ids as [string, string, string];
  await assert.rejects(c.call('ACKJOB', a, b, 'not-an-id'), /BADID/);
  const state = async (id: string): Promise<unknown> => {
    const fields = (await c.call('SHOW', id)) as unknown[] | null;
    return fields === null ? null : fields[fields.indexOf('state') + 1];
  };
  assert.deepEqual([await state(a), await state(b)], ['active', 'active'], 'nothing acked');
  assert.equal(await c.call('ACKJOB', a, a, b, d), 3, 'each counted once');
  assert.deepEqual([await state(a), await state(b), await state(d)], [null, null, null]);
});
