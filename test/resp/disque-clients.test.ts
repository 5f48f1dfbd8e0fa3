// Disque's own Node clients from npm, unchanged, running their own calls against the server:
// thunk-disque (promise API) and disqueue-node (callbacks, options objects).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { startResp } from './harness.ts';
import type { RunningResp } from './harness.ts';

const require = createRequire(import.meta.url);

interface ThunkDisque {
  info(): Promise<Record<string, unknown>>;
  addjob(queue: string, body: string, timeout: number, ...options: (string | number)[]): Promise<string>;
  show(id: string): Promise<Record<string, unknown> | null>;
  getjob(...args: (string | number)[]): Promise<string[][] | null>;
  ackjob(...ids: string[]): Promise<number>;
  nack(...ids: string[]): Promise<number>;
  qlen(queue: string): Promise<number>;
  hello(): Promise<unknown[]>;
  on(event: 'error', listener: (error: unknown) => void): void;
  clientEnd(): void;
}

type Callback<T> = (error: unknown, value: T) => void;
interface Disqueue extends EventEmitter {
  addJob(job: Record<string, unknown>, done: Callback<string>): void;
  getJob(options: Record<string, unknown>, done: Callback<Record<string, unknown>[]>): void;
  working(id: string, done: Callback<number>): void;
  nack(id: string, done: Callback<number>): void;
  ackJob(id: string | string[], done: Callback<number>): void;
  qlen(queue: string, done: Callback<number>): void;
  hello(options: object, done: Callback<{ nodeId: string }>): void;
  qscan(options: object, done: Callback<{ queues: string[] }>): void;
  redisClient: { end(flush: boolean): void };
}

const thunkDisque = require('thunk-disque') as {
  createClient(port: number, host: string, options: { usePromise: boolean }): ThunkDisque;
};
const DisqueueClient = require('disqueue-node') as new (options: { host: string; port: number }) => Disqueue;

let r: RunningResp;
before(async () => {
  r = await startResp();
});
after(() => r.close());

const call = <T>(f: (done: Callback<T>) => void): Promise<T> =>
  new Promise((resolve, reject) =>
    f((error, value) =>
      error ? reject(error instanceof Error ? error : new Error(JSON.stringify(error))) : resolve(value),
    ),
  );

void test('thunk-disque: info, addjob, show, getjob, nack, ackjob, qlen, hello', async () => {
  const client = thunkDisque.createClient(r.port, '127.0.0.1', { usePromise: true });
  client.on('error', () => {});
  try {
    assert.equal(typeof (await client.info()), 'object');
    const id = await client.addjob('thunk', 'Hello', 0, 'RETRY', 30);
    const shown = await client.show(id);
    assert.equal(shown?.state, 'queued');
    assert.equal(shown?.body, 'Hello');
    assert.deepEqual(await client.getjob('FROM', 'thunk'), [['thunk', id, 'Hello']]);
    assert.equal(await client.nack(id), 1);
    assert.equal(await client.qlen('thunk'), 1);
    assert.deepEqual(await client.getjob('NOHANG', 'FROM', 'thunk'), [['thunk', id, 'Hello']]);
    assert.equal(await client.ackjob(id), 1);
    assert.equal(await client.show(id), null);
    const hello = await client.hello();
    assert.equal(hello[0], 1);
    assert.ok(id.startsWith(`D-${String(hello[1]).slice(0, 8)}-`), 'the id names the node HELLO reports');
  } finally {
    client.clientEnd();
  }
});

void test('disqueue-node: addJob, getJob with counters, working, nack, ackJob, qlen, hello, qscan', async () => {
  const client = new DisqueueClient({ host: '127.0.0.1', port: r.port });
  client.on('error', () => {});
  await once(client, 'connected');
  try {
    const id = await call<string>((done) => client.addJob({ queue: 'dq', job: 'Hi', retry: 5 }, done));
    const [got] = await call<Record<string, unknown>[]>((done) =>
      client.getJob({ queue: 'dq', count: 1, withcounters: true }, done),
    );
    assert.deepEqual(got, { queue: 'dq', jobId: id, body: 'Hi', nacks: 0, additionalDeliveries: 0 });
    assert.equal(await call<number>((done) => client.working(id, done)), 5);
    assert.equal(await call<number>((done) => client.nack(id, done)), 1);
    assert.equal(await call<number>((done) => client.qlen('dq', done)), 1);
    assert.equal(await call<number>((done) => client.ackJob([id], done)), 1);
    assert.equal(await call<number>((done) => client.qlen('dq', done)), 0);
    assert.equal((await call<{ nodeId: string }>((done) => client.hello({}, done))).nodeId, r.server.nodeId);
    assert.ok(
      (await call<{ queues: string[] }>((done) => client.qscan({ busyloop: true }, done))).queues.includes('dq'),
    );
  } finally {
    // Not QUIT: its +OK reaches the Disque client, which has no command waiting for it, and throws.
    client.redisClient.end(true);
  }
});
