// The embedded stores' lease-token seal is SipHash-2-4 of (sequence number, attempt) under the
// table's key. The expected MACs come from a reference implementation of SipHash-2-4 with 64-bit
// integers (Python), which gives the paper's test vector (key 00..0f, message 00..0e:
// a129ca6149be45e5); they are printed little-endian, as the seal prints them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenSealer } from '../src/store/memory/token-seal.ts';

const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i)).toString('base64url');

void test('a seal is the SipHash-2-4 MAC of the little-endian words (seq, attempt)', () => {
  const sealer = new TokenSealer(key);
  // 0x37382fc97ba06c65 and 0x3ca68a4e43b76122: a small sequence number, and one past 32 bits.
  assert.equal(sealer.seal(1, 2), '656ca07bc92f3837');
  assert.equal(sealer.seal(2 ** 40 + 7, 3), '2261b7434e8aa63c');
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
  assert.equal(sealer.matches(1, 2, '656ca07bc92f3837'), true);
  for (const wrong of [
    '656ca07bc92f3836',
    '756ca07bc92f3837',
    '656CA07BC92F3837',
    '656ca07bc92f383',
    '656ca07bc92f38370',
  ])
    assert.equal(sealer.matches(1, 2, wrong), false, wrong);
  assert.equal(sealer.matches(1, 3, '656ca07bc92f3837'), false);
  assert.equal(sealer.matches(2, 2, '656ca07bc92f3837'), false);
  // Remembered from a seal just made, or made again by a sealer that never sealed it, the same answers.
  const fresh = new TokenSealer(key);
  sealer.seal(1, 2);
  for (const s of [sealer, fresh]) {
    assert.equal(s.matches(1, 2, '656ca07bc92f3837'), true);
    assert.equal(s.matches(1, 2, '656ca07bc92f3836'), false);
  }
  // A job whose slot another job took since is sealed again.
  sealer.seal(1 + 4096, 2);
  assert.equal(sealer.matches(1, 2, '656ca07bc92f3837'), true);
});
