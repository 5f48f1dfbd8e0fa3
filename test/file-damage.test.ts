// Damage the file store can see (issue 20, defects 2 and 3): a changed payload is never handed
// out, a cut segment is refused whenever a checkpoint or a clean close recorded its end, and
// `spool check` finds each case and `--repair` leaves a directory that opens and reads cleanly.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CorruptionError, open } from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-damage-'));
let n = 0;
const freshDir = (): string => join(root, String(++n));
after(() => rmSync(root, { recursive: true, force: true }));
const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));

interface Payment {
  n: number;
  amount: number;
}

/**
 * Adds payments 1–10 of 100 each (one add each, or two bulk adds of five), closes, and changes
 * one digit of payment 3's amount on disk.
 */
async function changedDigit(dir: string, bulk: boolean): Promise<string> {
  {
    await using spool = await open(`file:${dir}`);
    const q = spool.queue<Payment>('pay');
    const payments = Array.from({ length: 10 }, (_, i) => ({ n: i + 1, amount: 100 }));
    if (bulk)
      for (const half of [payments.slice(0, 5), payments.slice(5)]) await q.addBulk(half.map((data) => ({ data })));
    else for (const data of payments) await q.add(data);
  }
  const [segment] = segmentFiles(dir);
  const bytes = readFileSync(segment!);
  const at = bytes.indexOf('{"n":3,"amount":100}') + '{"n":3,"amount":'.length;
  assert.equal(bytes[at], '1'.charCodeAt(0));
  bytes[at] = '9'.charCodeAt(0);
  writeFileSync(segment!, bytes);
  return segment!;
}

void describe('a payload changed on disk', () => {
  // One checksum covers a record: a damaged bulk add takes all its jobs, none can be proven intact.
  for (const bulk of [false, true]) {
    const lost = bulk ? [1, 2, 3, 4, 5] : [3];
    void test(`${bulk ? 'in a bulk add: its jobs go' : 'in its own add: the job goes'} dead with CorruptionError, never handed out, and the next jobs flow`, async () => {
      const dir = freshDir();
      const segment = await changedDigit(dir, bulk);
      {
        await using spool = await open(`file:${dir}`);
        const q = spool.queue<Payment>('pay');
        const seen: Payment[] = [];
        for (let jobs = await q.lease({ max: 2 }); jobs.length > 0; jobs = await q.lease({ max: 2 })) {
          for (const job of jobs) {
            seen.push(job.data);
            await job.ack();
          }
        }
        assert.deepEqual(
          seen.map((p) => [p.n, p.amount]),
          Array.from({ length: 10 }, (_, i) => [i + 1, 100]).filter(([i]) => !lost.includes(i!)),
        );
        assert.equal((await q.counts()).dead, lost.length);
        // Reading the damaged payload any other way fails loudly, naming the file and offset.
        await assert.rejects(
          q.dead(),
          (e: unknown) => e instanceof CorruptionError && e.file === segment && e.offset > 0 && e.code === 'CORRUPT',
        );
      }
      // The job's death was logged: a reopen still has it dead, with the reason.
      await using spool = await open(`file:${dir}`);
      assert.equal((await spool.queue('pay').counts()).dead, lost.length);
    });
  }

  void test('damage that breaks the JSON does not block the queue with a SyntaxError', async () => {
    const dir = freshDir();
    {
      await using spool = await open(`file:${dir}`);
      const q = spool.queue<Payment>('pay');
      for (let i = 1; i <= 3; i++) await q.add({ n: i, amount: 100 });
    }
    const [segment] = segmentFiles(dir);
    const bytes = readFileSync(segment!);
    bytes.fill(0x7b, bytes.indexOf('{"n":2'), bytes.indexOf('{"n":2') + 6);
    writeFileSync(segment!, bytes);
    await using spool = await open(`file:${dir}`);
    const q = spool.queue<Payment>('pay');
    const got: number[] = [];
    const failed: unknown[] = [];
    const worker = q.process((job) => {
      got.push(job.data.n);
    });
    worker.on('error', (e: unknown) => failed.push(e));
    await new Promise<void>((resolve) => {
      let completed = 0;
      worker.on('completed', () => {
        if (++completed === 2) resolve();
      });
    });
    await worker.close();
    assert.deepEqual(got, [1, 3]);
    assert.deepEqual(failed, []);
    assert.equal((await q.counts()).dead, 1);
  });
});
