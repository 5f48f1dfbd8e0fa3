// The conformance harness's time limit on a case's body (harness.ts, within).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { within } from '../../src/conformance/harness.ts';

void test('a body that never settles fails once its time is up, named; one that settles in time passes through', async () => {
  await assert.rejects(within(new Promise<never>(() => {}), 20, "the case 'x'"), {
    message: "the case 'x' took over 20 ms",
  });
  assert.equal(await within(Promise.resolve(7), 20, 'y'), 7);
  await assert.rejects(within(Promise.reject(new Error('boom')), 20, 'z'), { message: 'boom' });
});
