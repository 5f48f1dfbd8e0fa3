// A data directory whose checkpoint a version-2 store wrote (every column at one fixed width,
// before issue 4) still opens with every job as it was. The fixture is that store's own output
// (commit cacf18c): eleven jobs in two queues, in every state, with a priority of 0.5, a key,
// errors, a result and a TTL, closed cleanly; expected.json holds the records it read back.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileStore } from '../src/store/file/file-store.ts';
import type { JobRecord } from '../src/store/contract.ts';

const fixture = new URL('./fixtures/checkpoint-v2/', import.meta.url);
const now = 1_700_000_000_000 + 60;
const root = mkdtempSync(join(tmpdir(), 'spool-checkpoint-v2-'));
after(() => rmSync(root, { recursive: true, force: true }));

const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

void test('a version-2 checkpoint opens with every job, count and place in line as that store had them', async () => {
  const expected = JSON.parse(readFileSync(new URL('expected.json', fixture), 'utf8')) as unknown;
  cpSync(fixture, root, { recursive: true });
  const ids = Array.from({ length: 11 }, (_, i) => String(i + 1));
  for (let open = 0; open < 2; open++) {
    // The second open reads the version-3 checkpoint the first one's close wrote.
    const store = await FileStore.open(root, { durability: 'none' });
    assert.deepEqual(store.report.badCheckpoints, []);
    const records = (await store.get({ now, ids })) as JobRecord[];
    const actual = {
      records: records.map((r) => ({ ...r, payload: text(r.payload), result: text(r.result) })),
      counts: await store.counts({ now, queues: ['a', 'b'] }),
      order: (await store.peek({ now, queue: 'b', limit: 10 })).map((r) => r.id),
    };
    await store.close();
    assert.deepEqual(JSON.parse(JSON.stringify(actual)), expected, `open ${open + 1}`);
  }
});
