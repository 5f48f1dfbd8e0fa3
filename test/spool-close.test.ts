// Spool.close with a time-out: a handler that never returns cannot hold the close of the whole
// spool, as worker.close({ timeout }) already could not hold a worker's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { open, ValidationError } from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-close-'));
after(() => rmSync(root, { recursive: true, force: true }));

void test('close with a time-out ends past a handler that never returns, and its job waits again, unattempted', async () => {
  const url = `file:${join(root, 'stuck')}?durability=none`;
  const spool = await open(url);
  const q = spool.queue('stuck');
  const id = await q.add('never done');
  let started = false;
  let aborted = false;
  q.process(
    (job) => {
      started = true;
      job.signal.addEventListener('abort', () => (aborted = true));
      return new Promise<never>(() => {});
    },
    { autoExtend: false },
  );
  while (!started) await new Promise((resolve) => setTimeout(resolve, 5));
  // Checked before anything closes: the spool still works after a refused close.
  await assert.rejects(spool.close({ timeout: 'soon' }), ValidationError);
  assert.equal((await q.counts()).active, 1);
  await spool.close({ timeout: 50 });
  assert.equal(aborted, true);
  const again = await open(url);
  try {
    const info = await again.queue('stuck').get(id);
    assert.equal(info?.state, 'waiting');
    assert.equal(info?.attempts, 0);
  } finally {
    await again.close();
  }
});
