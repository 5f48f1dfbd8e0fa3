import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { open, parseDuration, UnknownStoreError, ValidationError } from '../src/index.ts';
import { backoffDelayMs } from '../src/store/contract.ts';

void test('durations take milliseconds or unit strings, parsed once', () => {
  assert.equal(parseDuration(250, 'd'), 250);
  assert.equal(parseDuration('250ms', 'd'), 250);
  assert.equal(parseDuration('30s', 'd'), 30_000);
  assert.equal(parseDuration('5m', 'd'), 300_000);
  assert.equal(parseDuration('1h30m', 'd'), 5_400_000);
  assert.equal(parseDuration('1d', 'd'), 86_400_000);
  assert.equal(parseDuration('1.5s', 'd'), 1500);
  for (const bad of ['5 parsecs', '-1s', '', 'm', -1, NaN, Infinity, null, {}]) {
    assert.throws(
      () => parseDuration(bad, 'options.delay'),
      (e: unknown) => e instanceof ValidationError && e.field === 'options.delay',
      JSON.stringify(bad),
    );
  }
});

void test('back-off: fixed, exponential doubling up to its cap, jitter takes a random share off', () => {
  const fixed = { kind: 'fixed', delayMs: 500, maxDelayMs: 500, jitter: 0 } as const;
  assert.deepEqual(
    [1, 2, 5].map((a) => backoffDelayMs(fixed, a, 0.9)),
    [500, 500, 500],
  );
  const exp = { kind: 'exponential', delayMs: 1000, maxDelayMs: 30_000, jitter: 0 } as const;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelayMs(exp, a, 0)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  );
  const jittered = { ...exp, jitter: 0.5 };
  assert.equal(backoffDelayMs(jittered, 2, 0), 2000);
  assert.equal(backoffDelayMs(jittered, 2, 0.5), 1500);
  assert.equal(backoffDelayMs(jittered, 2, 0.999), 1001);
});

void test('open refuses a connection string no store answers to, and opens memory:', async () => {
  await assert.rejects(open('carrier-pigeon://coop'), UnknownStoreError);
  await using spool = await open('memory:');
  assert.equal(spool.capabilities.durable, 'none');
});

void test('queue options are checked at the edge', async () => {
  await using spool = await open('memory:');
  assert.throws(
    () => spool.queue('q', { maxLength: 0 }),
    (e: unknown) => e instanceof ValidationError && e.field === 'options.maxLength',
  );
  assert.throws(
    () => spool.queue('q', { backoff: { type: 'linear' as never, delay: 1 } }),
    (e: unknown) => e instanceof ValidationError && e.field === 'options.backoff.type',
  );
  assert.throws(
    () => spool.queue('q', { backoff: { type: 'exponential', delay: '10s', maxDelay: '1s' } }),
    (e: unknown) => e instanceof ValidationError && e.field === 'options.backoff.maxDelay',
  );
  assert.throws(() => spool.queue('q', { keepCompleted: { count: -1 } }), ValidationError);
  await assert.rejects(
    spool.lease({ queues: [] }),
    (e: unknown) => e instanceof ValidationError && e.field === 'lease.queues',
  );
  await assert.rejects(
    spool.lease({ queues: 'q', max: 5000 }),
    (e: unknown) => e instanceof ValidationError && e.field === 'lease.max',
  );
});

void test('open() with no URL opens the embedded file store in ./spool-data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-default-'));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    {
      await using spool = await open();
      assert.equal(spool.capabilities.durable, 'power-loss');
      await spool.queue('q').add('x');
    }
    assert.ok(existsSync(join(dir, 'spool-data', '000000000001.seg')));
    await using again = await open();
    assert.equal((await again.queue('q').counts()).waiting, 1);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});
