// Group commit in the file store's log (issue 16): appends made while an fdatasync is in flight
// gather for the next one, which starts as soon as it returns; a bulk add's worth of them is
// written at once. A call is answered only after an fdatasync that started after its own bytes
// were written.
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { FileStore } from '../src/store/file/file-store.ts';
import { nodeIO } from '../src/store/file/io.ts';
import type { FileIO } from '../src/store/file/io.ts';
import { tempDirs } from './support/file-dirs.ts';
import { newJob } from './support/workload.ts';

const freshDir = tempDirs('spool-group-commit-');

type Event = { kind: 'write'; bytes: Buffer } | { kind: 'sync' };

/** The real disk, with a log of writes and syncs, whose fdatasyncs can be held until released. */
function heldIO(): {
  io: FileIO;
  events: Event[];
  hold: (on: boolean) => void;
  released: () => void;
  syncs: () => number;
} {
  const events: Event[] = [];
  let holding = false;
  const gates: (() => void)[] = [];
  const io: FileIO = {
    ...nodeIO,
    write: (fd, buf, position) => {
      events.push({ kind: 'write', bytes: Buffer.from(buf) });
      nodeIO.write(fd, buf, position);
    },
    datasync: async (fd) => {
      events.push({ kind: 'sync' });
      if (holding) await new Promise<void>((resolve) => gates.push(resolve));
      await nodeIO.datasync(fd);
    },
  };
  return {
    io,
    events,
    hold: (on) => {
      holding = on;
      if (!on) gates.splice(0).forEach((release) => release());
    },
    released: () => gates.shift()?.(),
    syncs: () => gates.length,
  };
}

const syncStarted = async (syncs: () => number): Promise<void> => {
  while (syncs() === 0) await turn();
};

/** The index in `events` of the write that holds `tag`. */
const writeOf = (events: Event[], tag: string): number =>
  events.findIndex((e) => e.kind === 'write' && e.bytes.includes(Buffer.from(tag)));

void describe('file store: group commit', () => {
  void test('an add made while a sync is in flight is written during it, and answered only by the next sync', async () => {
    const disk = heldIO();
    const store = await FileStore.open(freshDir(), { io: disk.io });
    try {
      disk.hold(true);
      const answered = { a: false, b: false };
      const a = store.add({ now: 0, jobs: [newJob('q', Buffer.from('payload-A'))] }).then(() => (answered.a = true));
      await syncStarted(disk.syncs);
      const firstSync = disk.events.length - 1;
      assert.ok(writeOf(disk.events, 'payload-A') < firstSync, 'A is written before the sync that answers it');

      // A bulk add's worth of bytes is written ahead; a small one would wait for the round's end.
      const big = Buffer.concat([Buffer.from('payload-B'), Buffer.alloc(70_000, 'b')]);
      const b = store.add({ now: 0, jobs: [newJob('q', big)] }).then(() => (answered.b = true));
      await turn();
      const bWrite = writeOf(disk.events, 'payload-B');
      assert.ok(bWrite > firstSync, 'B is written while the first sync is still in flight');
      assert.deepEqual(answered, { a: false, b: false });

      disk.released();
      await a;
      await syncStarted(disk.syncs);
      const secondSync = disk.events.findLastIndex((e) => e.kind === 'sync');
      assert.ok(secondSync > bWrite, 'the sync that answers B started after B was written');
      assert.equal(answered.b, false, 'the first sync, begun before B was written, does not answer B');

      disk.released();
      await b;
      assert.equal((await store.counts({ now: 0, queues: ['q'] }))[0]?.waiting, 2);
    } finally {
      disk.hold(false);
      await store.close();
    }
  });

  void test('small adds made during a sync are not written one by one: they go out in one write after it', async () => {
    const disk = heldIO();
    const store = await FileStore.open(freshDir(), { io: disk.io });
    try {
      disk.hold(true);
      const a = store.add({ now: 0, jobs: [newJob('q', Buffer.from('payload-A'))] });
      await syncStarted(disk.syncs);
      const c = store.add({ now: 0, jobs: [newJob('q', Buffer.from('payload-C'))] });
      await turn();
      const d = store.add({ now: 0, jobs: [newJob('q', Buffer.from('payload-D'))] });
      await turn();
      assert.equal(writeOf(disk.events, 'payload-C'), -1, 'C waits for the round to end');
      assert.equal(writeOf(disk.events, 'payload-D'), -1, 'D waits for the round to end');
      disk.hold(false);
      await Promise.all([a, c, d]);
      assert.equal(writeOf(disk.events, 'payload-C'), writeOf(disk.events, 'payload-D'), 'C and D share a write');
    } finally {
      disk.hold(false);
      await store.close();
    }
  });
});
