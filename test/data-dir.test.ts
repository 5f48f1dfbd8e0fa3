// Data directories that earlier versions of the file store wrote still open, with every job as
// that store had it. Each fixture is a store's own output (test/fixtures/write-data-dir.ts, run
// by the version named below) holding every kind of log record: adds of every job shape,
// leases, acks with and without a result, nacks that retry, kill and release, an extension,
// removals, a purge, retries of dead jobs, pauses, metadata, a compaction's move, (from
// records-v3 on) promotions of delayed jobs, and (from records-v4 on) requeues. Its old segments
// are kept, so it opens three ways: from its newest checkpoint, from the older one (replaying
// what came after), and with no checkpoint (replaying the whole log). Never regenerate a fixture: a format change gets a new one beside the old.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StorageError } from '../src/errors.ts';
import { defaultQueueSettings } from '../src/store/contract.ts';
import { checkpointFiles } from '../src/store/file/checkpoint.ts';
import { parse, parseSegmentHeader, seal, segmentHeaderBytes } from '../src/store/file/frame.ts';
import type { SegmentHeader } from '../src/store/file/frame.ts';
import { FileStore, nodeIO } from '../src/store/file/index.ts';
import { recordKinds } from '../src/store/file/records.ts';
import { readSettings, readState } from './support/data-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-data-dir-'));
after(() => rmSync(root, { recursive: true, force: true }));

const fixtures = [
  // Operations other than adds, moves, leases and acks as JSON of the contract's types (before issue 14).
  { name: 'records-v0', writtenBy: 'main at 5686b4b' },
  // Every record in its own binary layout, version 1 in the frame (issue 14).
  { name: 'records-v1', writtenBy: 'issue 14, commit adb157b' },
  // Adds and acks without per-call limits and retention, stored queue settings in configure records (issue 14).
  { name: 'records-v2', writtenBy: 'issue 14, stored queue settings' },
  // Promote records: delayed jobs made due by id and by queue (issue 18).
  { name: 'records-v3', writtenBy: 'issue 18, promote and keepDead' },
  // Nack records of layout version 2, whose flags may say requeue (Disque's ENQUEUE).
  { name: 'records-v4', writtenBy: 'requeue (nack kind requeue)' },
];

interface FixtureSettings {
  readonly queues: readonly string[];
  readonly settings: readonly Record<string, unknown>[];
}

/** The defaults as `readSettings` writes them (Infinity as a string). */
const defaults = JSON.parse(
  JSON.stringify(defaultQueueSettings, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v)),
) as Record<string, unknown>;

/** A setting added after a fixture was written (keepDead, issue 14) reads as its default there. */
function withDefaults(expected: FixtureSettings): FixtureSettings {
  return { ...expected, settings: expected.settings.map((settings) => ({ ...defaults, ...settings })) };
}

for (const { name, writtenBy } of fixtures) {
  const fixture = new URL(`./fixtures/${name}/`, import.meta.url);
  const expected = JSON.parse(readFileSync(new URL('expected.json', fixture), 'utf8')) as unknown;
  const settingsFile = new URL('settings.json', fixture);
  const expectedSettings = existsSync(settingsFile)
    ? withDefaults(JSON.parse(readFileSync(settingsFile, 'utf8')) as FixtureSettings)
    : null;
  const checkpoints = checkpointFiles(nodeIO, fixture.pathname);
  const ways = [
    { from: 'its newest checkpoint', drop: [] },
    { from: 'its older checkpoint', drop: checkpoints.slice(0, 1) },
    { from: 'no checkpoint, replaying the whole log', drop: checkpoints },
  ];
  for (const { from, drop } of ways) {
    void test(`${name} (written by ${writtenBy}) opens from ${from} with every job as it was`, async () => {
      assert.equal(checkpoints.length, 2);
      const dir = join(root, `${name}-${drop.length}`);
      cpSync(fixture, dir, { recursive: true, filter: (path) => !drop.some((file) => path.endsWith(file)) });
      for (let open = 0; open < 2; open++) {
        // The second open reads what the first one's close wrote.
        const store = await FileStore.open(dir, { durability: 'none' });
        assert.deepEqual(store.report.damage, []);
        assert.deepEqual(store.report.badCheckpoints, []);
        const state = await readState(store);
        const settings = await readSettings(store);
        await store.close();
        assert.deepEqual(state, expected, `open ${open + 1}`);
        if (expectedSettings !== null) assert.deepEqual(settings, expectedSettings, `settings, open ${open + 1}`);
      }
    });
  }
}

void test('a record in a layout version this spool does not know stops the open with a StorageError, naming it', async () => {
  const dir = join(root, 'newer');
  const fixture = new URL('./fixtures/records-v1/', import.meta.url);
  // No checkpoint: the open replays the whole log, and meets the record.
  cpSync(fixture, dir, { recursive: true, filter: (path) => !/checkpoint-/.test(path) });
  const path = join(dir, '000000000001.seg');
  const bytes = readFileSync(path);
  const { salt } = parseSegmentHeader(bytes) as SegmentHeader;
  let at = segmentHeaderBytes;
  for (let record = parse(bytes, at, salt); record !== null; record = parse(bytes, at, salt)) {
    if (record.type === recordKinds.nack.type) {
      const version = recordKinds.nack.version + 1;
      seal(bytes, at, record.length, { type: record.type, version }, record.lsn, record.durable, salt);
      break;
    }
    at = record.end;
  }
  writeFileSync(path, bytes);
  await assert.rejects(FileStore.open(dir, { durability: 'none' }), (error: Error) => {
    assert.ok(error instanceof StorageError);
    assert.match(error.message, /type 8 has layout version 3: a newer spool wrote it/);
    return true;
  });
});
