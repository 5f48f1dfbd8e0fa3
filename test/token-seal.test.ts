// The embedded stores' lease-token seal is Chaskey-12 of the block (sequence number, attempt)
// under the table's key, cut to 64 bits. The permutation is checked against the published test
// vector of Chaskey (8 rounds; key and message from the reference implementation's vectors[16]).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chaskey, timesTwo, TokenSealer } from '../src/store/memory/token-seal.ts';

const keyBytes = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
const key = keyBytes.toString('base64url');

void test("Chaskey of a 16-byte block gives the reference implementation's tag", () => {
  const k = Int32Array.of(0x833d3433, 0x009f389f, 0x2398e64f, 0x417acf39);
  const tag = new Uint32Array(4);
  // The message 00 01 02 … 0f.
  chaskey(k, timesTwo(k), 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, 8, tag);
  assert.deepEqual([...tag], [0x79271ca9, 0xd66a1c71, 0x81ca474e, 0x49831cad]);
});

void test('a seal is the first 8 bytes of the Chaskey-12 tag of the little-endian words (seq, attempt)', () => {
  const sealer = new TokenSealer(key);
  const k = Int32Array.from({ length: 4 }, (_, i) => keyBytes.readInt32LE(4 * i));
  for (const [seq, attempt] of [
    [1, 2],
    [2 ** 40 + 7, 3],
    [2 ** 32 - 1, 70_000],
  ] as const) {
    const tag = new Uint32Array(4);
    chaskey(k, timesTwo(k), seq % 2 ** 32, Math.floor(seq / 2 ** 32), attempt, 0, 12, tag);
    const bytes = Buffer.alloc(8);
    bytes.writeUInt32LE(tag[0] as number, 0);
    bytes.writeUInt32LE(tag[1] as number, 4);
    assert.equal(sealer.seal(seq, attempt), bytes.toString('hex'));
  }
  // What this code has sealed since it was written: a change here makes every held token lost.
  assert.equal(sealer.seal(1, 2), 'caaddab8ebb3609e');
  assert.equal(sealer.seal(2 ** 40 + 7, 3), '8bfbc67bb3b32c06');
});

void test('seals differ by job, attempt and key, and a sealer gives the same seal every time', () => {
  const sealer = new TokenSealer(key);
  const seals = new Set<string>();
  for (let seq = 1; seq <= 100; seq++)
    for (let attempt = 1; attempt <= 10; attempt++) seals.add(sealer.seal(seq, attempt));
  assert.equal(seals.size, 1000);
  assert.equal(sealer.seal(5, 1), new TokenSealer(key).seal(5, 1));
  const other = new TokenSealer(Buffer.alloc(16, 7).toString('base64url'));
  assert.notEqual(other.seal(5, 1), sealer.seal(5, 1));
});

void test('a seal is checked digit by digit: one changed digit, upper case or another length does not match', () => {
  const sealer = new TokenSealer(key);
  const good = 'caaddab8ebb3609e';
  for (const s of [sealer, new TokenSealer(key)]) {
    // Remembered from the seal just made, or made again by a sealer that never sealed it.
    if (s === sealer) s.seal(1, 2);
    assert.equal(s.matches(1, 2, good), true);
    for (const wrong of ['caaddab8ebb3609f', 'daaddab8ebb3609e', 'CAADDAB8EBB3609E', 'caaddab8ebb3609', `${good}0`])
      assert.equal(s.matches(1, 2, wrong), false, wrong);
    assert.equal(s.matches(1, 3, good), false);
    assert.equal(s.matches(2, 2, good), false);
  }
  // A job whose slot another job took since is sealed again.
  sealer.seal(1 + 4096, 2);
  assert.equal(sealer.matches(1, 2, good), true);
});
