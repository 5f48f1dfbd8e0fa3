import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from '../src/store/file/bytes.ts';
import {
  decodeAdd,
  decodeOperation,
  encodeOperation,
  layoutAdd,
  recordKinds,
  writeAdd,
} from '../src/store/file/records.ts';
import type { NackKind } from '../src/store/contract.ts';
import type { AddParams } from '../src/store/contract.ts';
import { newJob } from './support/workload.ts';

// Issue 16: an add is encoded straight into the log's buffer at the size worked out first, so
// the size and the payload offsets must be those of the bytes written, for any mix of jobs.
void test('an add record is the size its layout says, with its payloads where the layout puts them', () => {
  const params: AddParams = {
    now: 1_000,
    jobs: [
      { ...newJob('q', Buffer.from('a')), key: null },
      { ...newJob('q', Buffer.from('b'.repeat(70_000))), key: 'kèy-1' },
      { ...newJob('ünïcode-queue', Buffer.from('')), key: null },
      { ...newJob('q', Buffer.from('c')), key: null },
    ],
  };
  const { length, payloadAt } = layoutAdd(params);
  // Room past the record: a writer bounded to `length` must not spill into it.
  const buf = Buffer.alloc(length + 16, 0xee);
  writeAdd(ByteWriter.into(buf, 8, length), 42, params);
  assert.deepEqual([...buf.subarray(0, 8)], new Array(8).fill(0xee));
  assert.deepEqual([...buf.subarray(8 + length)], new Array(8).fill(0xee));
  const decoded = decodeAdd(recordKinds.add.version, buf.subarray(8, 8 + length));
  assert.equal(decoded.seq, 42);
  assert.deepEqual(decoded.payloadAt, payloadAt);
  assert.deepEqual(
    decoded.params.jobs.map((j) => [j.queue, j.key, Buffer.from(j.payload).toString()]),
    params.jobs.map((j) => [j.queue, j.key, Buffer.from(j.payload).toString()]),
  );
});

void test('a writer into a given buffer refuses to outgrow the size it was given', () => {
  const w = ByteWriter.into(Buffer.alloc(16), 4, 8);
  w.f64(1);
  assert.throws(() => w.u8(1), RangeError);
});

// Issue 16: a job whose fields before the payload match the last job's gets them copied, not
// written one by one; the copy must never stand in for fields that differ on disk.
void test('an add record keeps every field of jobs that differ from the one before only slightly', () => {
  const base = newJob('q', Buffer.from('p'));
  const jobs = [
    base,
    { ...base, payload: Buffer.from('same fields') },
    // Equal to 0 for ===, not on disk.
    { ...base, priority: -0 },
    { ...base, key: 'k' },
    // No key after a job with one: the copy would carry the key.
    { ...base, key: null },
    { ...base, backoff: { ...base.backoff } },
    { ...base, backoff: { ...base.backoff, jitter: 0.5 } },
    { ...base, expiresAt: 5 },
    { ...base, availableAt: 7 },
    { ...base, queue: 'other' },
  ];
  const params: AddParams = { now: 1, jobs };
  const { length } = layoutAdd(params);
  const buf = Buffer.alloc(length);
  writeAdd(ByteWriter.into(buf, 0, length), 1, params);
  const decoded = decodeAdd(recordKinds.add.version, buf).params.jobs;
  assert.equal(decoded.length, jobs.length);
  decoded.forEach((job, i) => {
    const { payload, ...fields } = jobs[i]!;
    const { payload: got, ...gotFields } = job;
    assert.deepEqual(gotFields, fields, `job ${i}`);
    assert.ok(Object.is(gotFields.priority, fields.priority), `job ${i}'s priority`);
    assert.equal(Buffer.from(got).toString(), Buffer.from(payload).toString());
  });
});

void test('a writer refuses a u32 out of range instead of wrapping it', () => {
  const w = new ByteWriter(16);
  assert.throws(() => w.u32(2 ** 32), RangeError);
  assert.throws(() => w.u32(-1), RangeError);
  assert.equal(w.length, 0);
});

void test('a nack record is written in layout version 1 unless it is a requeue, which version 1 cannot say', () => {
  const out = new ByteWriter();
  for (const kind of ['fail', 'dead', 'release', 'requeue'] as const satisfies readonly NackKind[]) {
    const record = { now: 5, token: '7:2.0123456789abcdef', delayMs: 10, error: null, kind };
    const { type, version } = encodeOperation(out, { kind: 'nack', record });
    // A log without requeues still opens in a spool from before them, which stops at version 2.
    assert.deepEqual([type, version], [recordKinds.nack.type, kind === 'requeue' ? 2 : 1], kind);
    assert.deepEqual(decodeOperation(type, version, out.view()), { kind: 'nack', record });
  }
});
