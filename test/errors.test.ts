// Every error class: a code docs/errors.md lists, details with the fields its code declares,
// and, thrown in a spool behind a server, the same class with the same fields out of spool/client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { connect } from '../src/client/index.ts';
import { errorCodes, errorDetailFields, reportWorkerError } from '../src/errors.ts';
import * as spool from '../src/index.ts';
import { createServer } from '../src/server/index.ts';
import { MemoryStore } from '../src/store/memory/memory-store.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

void test("docs/errors.md lists every error code, and each code's details", () => {
  for (const code of Object.keys(errorCodes)) {
    assert.ok(doc.includes(`\`${code}\``), `docs/errors.md does not mention \`${code}\``);
  }
  const details = doc.slice(doc.indexOf('## Details'));
  for (const [code, fields] of Object.entries(errorDetailFields)) {
    const row = details.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row !== undefined, `docs/errors.md has no details row for ${code}`);
    for (const field of Object.keys(fields)) assert.ok(row.includes(`\`${field}\``), `${code}: ${field}`);
  }
});

const samples: Record<string, spool.SpoolError> = {
  ValidationError: new spool.ValidationError('options.delay', 'must be a duration'),
  QueueFullError: new spool.QueueFullError('emails', 1000),
  LeaseLostError: new spool.LeaseLostError('job-1:1'),
  NotFoundError: new spool.NotFoundError('subscriber', 'billing', 'orders'),
  ClosedError: new spool.ClosedError(),
  TimeoutError: new spool.TimeoutError('waitFor(job-1)', 1000),
  JobFailedError: new spool.JobFailedError('job-1', ['boom']),
  UnknownStoreError: new spool.UnknownStoreError('nope://x'),
  MissingDriverError: new spool.MissingDriverError('ioredis', 'redis://localhost'),
  StorageError: new spool.StorageError('fsync failed', { cause: new Error('EIO') }),
  CorruptionError: new spool.CorruptionError('spool-data/000000000001.seg', 4096, 'checksum mismatch'),
  LockedError: new spool.LockedError('./spool-data', 4242),
  ReplicationError: new spool.ReplicationError(['emails:7'], 2, 1, 1000),
  ExistsError: new spool.ExistsError('topic', 'cart'),
  UnauthorizedError: new spool.UnauthorizedError(),
  ForbiddenError: new spool.ForbiddenError('publish', 'cart'),
  TooLargeError: new spool.TooLargeError(1 << 20),
  UnsupportedMediaTypeError: new spool.UnsupportedMediaTypeError('text/plain'),
  ExpectationFailedError: new spool.ExpectationFailedError('tea'),
  InternalError: new spool.InternalError('req-7'),
};

void test('every exported SpoolError has a code from errorCodes and the details its code declares', () => {
  type ErrorClass = abstract new (...args: never[]) => spool.SpoolError;
  const exported = Object.entries(spool as Record<string, unknown>).filter(
    (entry): entry is [string, ErrorClass] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof spool.SpoolError,
  );
  assert.ok(exported.length > 0);
  for (const [name, ctor] of exported) {
    const error = samples[name];
    assert.ok(error !== undefined, `no sample for exported error class ${name}`);
    assert.ok(error instanceof ctor, `${name} sample is not an instance of ${name}`);
    assert.ok(error instanceof spool.SpoolError);
    assert.equal(error.name, name);
    assert.ok(Object.hasOwn(errorCodes, error.code), `${name}.code ${error.code} is not a key of errorCodes`);
    assert.ok(doc.includes(`\`${error.code}\``), `docs/errors.md does not mention \`${error.code}\``);
    assert.deepEqual(Object.keys(error.details).sort(), Object.keys(errorDetailFields[error.code]).sort(), name);
    // Each field of the details is the error's own field of that name, and JSON keeps it as it is.
    for (const [field, value] of Object.entries(error.details))
      assert.deepEqual((error as unknown as Record<string, unknown>)[field], value, `${name}.${field}`);
    assert.deepEqual(JSON.parse(JSON.stringify(error.details)), error.details, name);
  }
  assert.equal(exported.length, Object.keys(samples).length);
});

/** A store that fails its next `counts` with `failure`, as a store whose read went wrong would. */
function failingStore(): { store: spool.Store; fail: (error: Error) => void } {
  const store = new MemoryStore();
  let next: Error | null = null;
  const counts = store.counts.bind(store);
  store.counts = (...args) => {
    const failure = next;
    next = null;
    return failure === null ? counts(...args) : Promise.reject(failure);
  };
  return { store, fail: (error) => (next = error) };
}

void test('every SpoolError thrown behind a server comes out of spool/client as its class with equal fields', async () => {
  const { store, fail } = failingStore();
  const local = await spool.Spool.create(store);
  const server = await createServer({ spool: local, logger: false });
  try {
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const queue = connect(base).queue('q');
    for (const [name, thrown] of Object.entries(samples)) {
      fail(thrown);
      const rebuilt = await queue.counts().then(
        () => assert.fail(`${name}: counts resolved`),
        (error: unknown) => error,
      );
      assert.ok(rebuilt instanceof spool.SpoolError, `${name}: ${String(rebuilt)}`);
      assert.equal(rebuilt.constructor, thrown.constructor, name);
      assert.equal(rebuilt.code, thrown.code);
      assert.deepEqual(rebuilt.details, thrown.details, name);
      assert.deepEqual({ ...rebuilt }, { ...thrown }, name);
      // A 5xx's message stays in the server's log; the others come rebuilt word for word.
      if (errorCodes[thrown.code].httpStatus < 500 || thrown.code !== 'STORAGE')
        assert.equal(rebuilt.message, thrown.message, name);
    }
    assert.deepEqual(await queue.counts(), await local.queue('q').counts());
  } finally {
    await server.close();
    await local.close();
  }
});

/**
 * A server on a store whose calls fail with what `fail` was last given, its log lines kept in
 * `lines`; closed, with its Spool, when disposed.
 */
async function failingServer() {
  const { lines, logger } = keptLog();
  const { store, fail } = failingStore();
  const local = await spool.Spool.create(store);
  const server = await createServer({ spool: local, logger });
  const close = async (): Promise<void> => {
    await server.close();
    await local.close();
  };
  try {
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    return { base, lines, fail, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What spool/client's counts of queue `q` on the server at `base` rejects with. */
const remoteCountsError = (base: string): Promise<unknown> =>
  connect(base)
    .queue('q')
    .counts()
    .then(
      () => assert.fail('counts resolved'),
      (e: unknown) => e,
    );

/** A pino logger whose lines are kept, parsed, in `lines`. */
function keptLog(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof pino> } {
  const lines: Record<string, unknown>[] = [];
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      );
      done();
    },
  });
  return { lines, logger: pino(log) };
}

void test("a 500 names the request id of the server's log line, and nothing of the error; spool/client's InternalError carries it", async () => {
  await using server = await failingServer();
  const { base, lines, fail } = server;
  const secret = 'connect ECONNREFUSED postgres://spool:hunter2@db.internal/spool';
  fail(new Error(secret));
  const response = await fetch(`${base}/v1/queues/q/counts`);
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.ok(!text.includes('hunter2') && !text.includes('ECONNREFUSED'), text);
  const { error } = JSON.parse(text) as { error: { code: string; details: { requestId: string } } };
  assert.equal(error.code, 'INTERNAL');
  // Before: details were {}, and the log line's reqId was nowhere in the answer.
  const { requestId } = error.details;
  const logged = lines.find((line) => line.reqId === requestId);
  assert.equal((logged?.err as { message?: string } | undefined)?.message, secret, JSON.stringify(lines));
  fail(new Error(secret));
  const rebuilt = await remoteCountsError(base);
  assert.ok(rebuilt instanceof spool.InternalError, String(rebuilt));
  assert.ok(lines.some((line) => line.reqId === rebuilt.requestId && line.msg === 'request failed'));
  assert.notEqual(rebuilt.requestId, requestId);
});

void test("a SpoolError's 5xx names the request id of its log line as INTERNAL does, with its declared details and nothing of its message", async () => {
  await using server = await failingServer();
  const { base, lines, fail } = server;
  const cause = 'fsync /srv/spool-data/000000000001.seg: EIO';
  fail(new spool.StorageError(cause));
  const response = await fetch(`${base}/v1/queues/q/counts`);
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.ok(!text.includes('/srv/spool-data'), text);
  const { error } = JSON.parse(text) as { error: { code: string; message: string; details: object } };
  assert.equal(error.code, 'STORAGE');
  assert.deepEqual(error.details, {});
  // Before: 'storage error; see the server log', and nothing in the answer found the log line.
  const logged = lines.filter((line) => line.msg === 'request failed');
  assert.equal(logged.length, 1, JSON.stringify(lines));
  assert.equal((logged[0]?.err as { message?: string } | undefined)?.message, cause);
  assert.equal(error.message, `storage error; see the server log (reqId ${String(logged[0]?.reqId)})`);
  // A code with details of its own keeps them as declared, with no requestId among them.
  const locked = new spool.LockedError('/srv/spool-data', 4242);
  fail(locked);
  const rebuilt = await remoteCountsError(base);
  assert.ok(rebuilt instanceof spool.LockedError, String(rebuilt));
  assert.deepEqual(rebuilt.details, locked.details);
});

void test('errors the server makes itself come out of spool/client with their fields', async () => {
  const local = await spool.open('memory:');
  const server = await createServer({
    spool: local,
    logger: false,
    bodyLimit: 1024,
    tokens: [
      { token: 'publisher-token-0123', scopes: ['publish'], prefix: 'mine' },
      { token: 'admin-token-01234567', scopes: ['admin'], prefix: '' },
    ],
  });
  try {
    const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const admin = connect(base, { token: 'admin-token-01234567' });
    const publisher = connect(base, { token: 'publisher-token-0123' });
    const fields = (error: unknown) =>
      ({ class: (error as Error).constructor.name, ...(error as object) }) as Record<string, unknown>;
    const failure = (call: Promise<unknown>) => call.then(() => assert.fail('resolved'), fields);
    // The server's spool knows the queue's maxLength from this handle.
    await local.queue('mine', { maxLength: 1 }).add(1);
    assert.deepEqual(await failure(admin.queue('mine').add(2)), fields(new spool.QueueFullError('mine', 1)));
    assert.deepEqual(
      await failure(publisher.queue('theirs').add(1)),
      fields(new spool.ForbiddenError('publish', 'theirs')),
    );
    assert.deepEqual(
      await failure(connect(base).queue('mine').counts()),
      fields(new spool.UnauthorizedError('an Authorization: Bearer <token> header is required')),
    );
    assert.deepEqual(await failure(admin.queue('mine').add('x'.repeat(2000))), fields(new spool.TooLargeError(1024)));
    const invalid = await failure(admin.queue('mine').add(1, { delay: 'soon' }));
    assert.deepEqual(
      [invalid.class, invalid.details],
      ['ValidationError', { field: 'options.delay', problem: invalid.problem }],
    );
    assert.match(String(invalid.problem), /"soon" is not a duration/);
    await admin.topic('orders').create({ billing: {} });
    assert.deepEqual(await failure(admin.topic('orders').create()), fields(new spool.ExistsError('topic', 'orders')));
    assert.deepEqual(
      await failure(admin.topic('orders').removeSubscriber('email')),
      fields(new spool.NotFoundError('subscriber', 'email', 'orders')),
    );
  } finally {
    await server.close();
    await local.close();
  }
});

void test("a worker's failure is its 'error' event when someone listens, else a SpoolWorkerWarning", async () => {
  const worker = new EventEmitter();
  const heard: unknown[] = [];
  worker.on('error', (error) => heard.push(error));
  reportWorkerError(worker, new spool.StorageError('disk gone'));
  assert.equal(heard.length, 1);
  worker.removeAllListeners('error');
  const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
  reportWorkerError(worker, 'not an Error');
  const warning = await warned;
  assert.equal(warning.name, 'SpoolWorkerWarning');
  assert.equal(warning.message, 'not an Error');
  assert.equal(heard.length, 1);
});
