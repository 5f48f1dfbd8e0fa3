// The job table's compact storage (issue 4): a column keeps every value it is given exactly,
// whatever width it chose, and the line of sequence numbers gives them back in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Column } from '../src/store/memory/column.ts';
import { SeqRuns } from '../src/store/memory/seq-runs.ts';

const rows = 64;

/** Values of the kinds a job's fields take: small counts, times, log positions, NaN, fractions. */
const value = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
  fc.integer({ min: 0, max: 3 }).map((segment) => segment * 2 ** 32 + 4096),
  fc.constant(Number.NaN),
  fc.constant(-1),
  fc.double({ noNaN: true }),
);

void test('a column gives back every value set, through every widening and a checkpoint image', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(rows - 1), value), { maxLength: 200 }), (writes) => {
      const column = new Column(rows);
      const model = new Map<number, number>();
      for (const [row, v] of writes) {
        column.set(row, v);
        model.set(row, v);
        for (const [r, expected] of model) assert.ok(Object.is(column.get(r), expected), `row ${r}`);
      }
      const image = column.image();
      const copy = new Column(rows, { ...image, bytes: image.bytes === null ? null : image.bytes.slice() });
      for (const [r, expected] of model) assert.ok(Object.is(copy.get(r), expected), `row ${r} after the image`);
    }),
  );
});

void test('a column stays one value while its rows agree, and takes the narrowest array once they differ', () => {
  const column = new Column(1024);
  for (let row = 0; row < 1024; row++) column.set(row, Number.NaN);
  assert.equal(column.image().kind, 'uniform');
  const t = 1_700_000_000_000;
  for (let row = 0; row < 100; row++) column.set(row, t + row);
  assert.equal(column.image().kind, 'u8', 'NaN and 100 ms of times');
  column.set(100, t + 60_000);
  assert.equal(column.image().kind, 'u16');
  column.set(101, t + 30 * 86_400_000);
  assert.equal(column.image().kind, 'u32');
  column.set(102, t + 0.5);
  assert.equal(column.image().kind, 'f64');
  assert.equal(column.get(0), t);
  assert.ok(Number.isNaN(column.get(1023)));
});

void test('a line of sequence numbers gives them back in order, however they are pushed and taken', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(0)), { maxLength: 500 }),
      fc.integer({ min: 2, max: 9 }),
      (steps, keepEvery) => {
        const line = new SeqRuns();
        const model: number[] = [];
        let seq = 0;
        for (const step of steps) {
          if (step === 0) {
            if (model.length === 0) continue;
            assert.equal(line.front, model[0]);
            line.shift();
            model.shift();
          } else {
            seq += step;
            line.push(seq);
            model.push(seq);
          }
          assert.equal(line.length, model.length);
        }
        assert.deepEqual([...line], model);
        line.filter((s) => s % keepEvery !== 0);
        assert.deepEqual(
          [...line],
          model.filter((s) => s % keepEvery !== 0),
        );
      },
    ),
  );
});

void test('consecutive sequence numbers cost one run per 256 of them, and come back in order', () => {
  const line = new SeqRuns();
  for (let seq = 1; seq <= 1_000_000; seq++) line.push(seq);
  assert.equal(line.length, 1_000_000);
  assert.equal(line.runs, Math.ceil(1_000_000 / 256));
  for (let seq = 1; seq <= 300; seq++) {
    assert.equal(line.front, seq);
    line.shift();
  }
  let expected = 301;
  for (const seq of line) assert.equal(seq, expected++);
  assert.equal(expected, 1_000_001);
});
