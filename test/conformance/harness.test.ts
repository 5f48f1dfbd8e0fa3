// The conformance harness's time limits on a case's body and on its cleanup (harness.ts, within and runCase).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCase, within } from '../../src/conformance/harness.ts';

void test('a body that never settles fails once its time is up, named; one that settles in time passes through', async () => {
  await assert.rejects(within(new Promise<never>(() => {}), 20, "the case 'x'"), {
    message: "the case 'x' took over 20 ms",
  });
  assert.equal(await within(Promise.resolve(7), 20, 'y'), 7);
  await assert.rejects(within(Promise.reject(new Error('boom')), 20, 'z'), { message: 'boom' });
});

void test("a case's cleanup has its time too, then its stores are closed under it; after a failed body, the body's error stands", async () => {
  const limits = { bodyMs: 1000, cleanupMs: 20 };
  const never = (): Promise<void> => new Promise<void>(() => {});
  let abandoned = 0;
  const abandon = (): Promise<void> => Promise.resolve(void abandoned++);
  // A body that failed and left a handler running, whose close never ends: the body's error, in
  // time, and the stores closed under the spools.
  await assert.rejects(
    runCase('x', () => Promise.reject(new Error('boom')), never, abandon, limits),
    {
      message: 'boom',
    },
  );
  assert.equal(abandoned, 1);
  // A body that passed, and a close that never ends: the close is the failure, named.
  await assert.rejects(
    runCase('y', () => Promise.resolve(), never, abandon, limits),
    {
      message: "closing the stores of the case 'y' took over 20 ms",
    },
  );
  assert.equal(abandoned, 2);
  // A close in time: nothing abandoned.
  let closed = 0;
  await runCase(
    'z',
    () => Promise.resolve(),
    () => Promise.resolve(void closed++),
    abandon,
    limits,
  );
  assert.deepEqual([closed, abandoned], [1, 2]);
});
