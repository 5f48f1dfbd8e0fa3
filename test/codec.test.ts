// The codecs: a bulk add encodes its jobs in one go (encodeAll), to the same bytes encode gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonCodec } from '../src/core/codec.ts';
import type { Codec } from '../src/core/codec.ts';
import { Spool, ValidationError } from '../src/index.ts';
import { MemoryStore } from '../src/store/memory/index.ts';

function encodeAll(values: readonly unknown[]): Uint8Array[] {
  const all = jsonCodec.encodeAll?.(values);
  assert.ok(all !== undefined, 'the JSON codec has encodeAll');
  return all;
}

void test('the JSON codec encodes many values at once to the bytes it gives each one alone', () => {
  const cases: unknown[][] = [
    [],
    [1],
    Array.from({ length: 1000 }, (_, i) => ({ i, pad: 'x'.repeat(70) })),
    // Text of more than one byte a character: cut job by job, not at character offsets.
    ['café', { city: 'Zürich' }, '🙂', 'plain', null, [1, 'é']],
    Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `ü${i}` : { i })),
    // Single values past the shared buffer's size, and many small ones around them.
    [{ big: 'y'.repeat(40_000) }, 1, { big: 'z'.repeat(17_000) }, 'é'.repeat(20_000), 2],
  ];
  for (const values of cases) {
    const all = encodeAll(values);
    assert.equal(all.length, values.length);
    all.forEach((bytes, i) => assert.deepEqual(Buffer.from(bytes), Buffer.from(jsonCodec.encode(values[i]))));
  }
});

void test('the JSON codec writes every string as JSON.stringify does, whether it quotes it or escapes it', () => {
  const strings = [
    '',
    'plain',
    'x'.repeat(100),
    'say "hi"',
    'back\\slash',
    'tab\tand\nnewline',
    '\u0000\u001f',
    'del\u007f',
    // JSON.stringify leaves these as they are.
    'line\u2028para\u2029',
    'café 🙂',
    // A lone surrogate: JSON.stringify writes it as \udxxx, which UTF-8 could not carry.
    'lone \ud800 high',
    'lone \udfff low',
  ];
  for (const value of strings) assert.equal(Buffer.from(jsonCodec.encode(value)).toString(), JSON.stringify(value));
});

void test("the JSON codec's jobs of one bulk share buffers of at most about 32 KiB, so a job kept keeps no more", () => {
  const all = encodeAll(Array.from({ length: 1000 }, (_, i) => ({ i, pad: 'x'.repeat(90) })));
  const buffers = new Set(all.map((bytes) => bytes.buffer));
  assert.ok(buffers.size > 1, 'a bulk of 100 KB is not one buffer');
  for (const bytes of all)
    assert.ok(bytes.buffer.byteLength <= 32 << 10, `a buffer of ${bytes.buffer.byteLength} bytes`);
});

void test('encodeAll refuses what encode refuses', () => {
  assert.throws(() => encodeAll([1, undefined]), ValidationError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => encodeAll([cyclic]), ValidationError);
});

void test("addBulk encodes through the queue's codec's encodeAll when it has one, through encode when not", async () => {
  const spool = await Spool.create(new MemoryStore());
  const calls: string[] = [];
  const text: Codec<string> = {
    encode: (value) => (calls.push('encode'), Buffer.from(value)),
    decode: (bytes) => Buffer.from(bytes).toString(),
  };
  const plain = spool.queue<string>('plain', { codec: text });
  await plain.addBulk([{ data: 'a' }, { data: 'b' }]);
  assert.deepEqual(calls, ['encode', 'encode']);

  calls.length = 0;
  const many = spool.queue<string>('many', {
    codec: {
      ...text,
      encodeAll: (values) => (calls.push('encodeAll'), values.map((v) => Buffer.from(v.toUpperCase()))),
    },
  });
  await many.addBulk([{ data: 'a' }, { data: 'b' }]);
  assert.deepEqual(calls, ['encodeAll']);
  assert.deepEqual(
    (await many.peek(2)).map((job) => job.data),
    ['A', 'B'],
  );

  const short = spool.queue<string>('short', { codec: { ...text, encodeAll: () => [] } });
  await assert.rejects(short.addBulk([{ data: 'a' }]), { code: 'VALIDATION', field: 'options.codec' });
  assert.throws(() => spool.queue('bad', { codec: { ...text, encodeAll: 'yes' } as unknown as Codec<string> }), {
    field: 'options.codec',
  });
  await spool.close();
});
