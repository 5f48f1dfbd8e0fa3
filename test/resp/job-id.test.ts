// Disque ids over spool ids: the middle is the id's UTF-8 bytes, left-padded with NUL bytes to
// a multiple of 3 and at least 18, in base64, whichever way it is made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromDisqueId, isDisqueId, toDisqueId } from '../../src/server/resp/job-id.ts';

const node = 'd6f6b504'.padEnd(40, '0');
const facts = { createdAt: 0, expiresAt: 86_400_000, maxAttempts: Infinity };

/** The middle as job-id.ts documents it, made with a Buffer. */
function reference(spoolId: string): string {
  const bytes = Buffer.from(spoolId, 'utf8');
  const padded = Buffer.alloc(Math.ceil(Math.max(bytes.length, 18) / 3) * 3);
  bytes.copy(padded, padded.length - bytes.length);
  return padded.toString('base64');
}

void test('a Disque id carries the spool id padded in base64, and gives it back, for ASCII, non-ASCII and long ids', () => {
  const ids = [
    '1',
    '12',
    '123',
    '10107',
    'x'.repeat(17),
    'x'.repeat(18),
    'x'.repeat(19),
    'queue:42',
    'é',
    'jöb-ü',
    '日本',
  ];
  for (let n = 1; n <= 24; n++)
    ids.push(Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7 + n) % 94))).join(''));
  for (const id of ids) {
    const disque = toDisqueId(node, id, facts);
    assert.equal(disque, `D-d6f6b504-${reference(id)}-05a1`, id);
    assert.ok(isDisqueId(disque), id);
    assert.equal(fromDisqueId(disque), id);
  }
});

void test('ids made for other nodes and TTLs in turn each carry their own node and TTL parts', () => {
  const other = 'abcdef12'.padEnd(40, '0');
  const oneMinute = { createdAt: 0, expiresAt: 60_000, maxAttempts: 1 };
  assert.equal(toDisqueId(node, '7', facts), `D-d6f6b504-${reference('7')}-05a1`);
  assert.equal(toDisqueId(other, '7', facts), `D-abcdef12-${reference('7')}-05a1`);
  // Disque's values: whole minutes, the lowest bit cleared for a job not retried.
  assert.equal(toDisqueId(other, '7', oneMinute), `D-abcdef12-${reference('7')}-0000`);
  assert.equal(toDisqueId(node, '7', oneMinute), `D-d6f6b504-${reference('7')}-0000`);
  assert.equal(toDisqueId(node, '7', facts), `D-d6f6b504-${reference('7')}-05a1`);
  // A store may stamp creation and expiry a millisecond apart: the id read back is the same.
  for (const skew of [-1, 1])
    assert.equal(
      toDisqueId(node, '7', { ...oneMinute, expiresAt: oneMinute.expiresAt + skew }),
      `D-d6f6b504-${reference('7')}-0000`,
    );
});
