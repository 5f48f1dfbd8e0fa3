import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCodes } from '../src/errors.ts';
import * as spool from '../src/index.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

void test('docs/errors.md lists every error code', () => {
  for (const code of Object.keys(errorCodes)) {
    assert.ok(doc.includes(`\`${code}\``), `docs/errors.md does not mention \`${code}\``);
  }
});

void test('every exported SpoolError has a code from errorCodes', () => {
  const samples: Record<string, spool.SpoolError> = {
    ValidationError: new spool.ValidationError('options.delay', 'must be a duration'),
    QueueFullError: new spool.QueueFullError('emails', 1000),
    LeaseLostError: new spool.LeaseLostError('job-1:1'),
    NotFoundError: new spool.NotFoundError('job job-1 in queue emails'),
    ClosedError: new spool.ClosedError(),
    TimeoutError: new spool.TimeoutError('waitFor(job-1)', 1000),
    JobFailedError: new spool.JobFailedError('job-1', ['boom']),
    UnknownStoreError: new spool.UnknownStoreError('nope://x'),
    MissingDriverError: new spool.MissingDriverError('ioredis', 'redis://localhost'),
    StorageError: new spool.StorageError('fsync failed', { cause: new Error('EIO') }),
    CorruptionError: new spool.CorruptionError('spool-data/000000000001.seg', 4096, 'checksum mismatch'),
    LockedError: new spool.LockedError('./spool-data', 4242),
    ReplicationError: new spool.ReplicationError(['emails:7'], 2, 1, 1000),
    ExistsError: new spool.ExistsError('topic cart'),
    UnauthorizedError: new spool.UnauthorizedError(),
    ForbiddenError: new spool.ForbiddenError('publish', 'cart'),
    TooLargeError: new spool.TooLargeError(1 << 20),
    UnsupportedMediaTypeError: new spool.UnsupportedMediaTypeError('text/plain'),
  };
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
  }
  assert.equal(exported.length, Object.keys(samples).length);
});
