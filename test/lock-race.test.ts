// One owner per data directory, always (issue 20, defect 1): eight processes open one
// directory at the same instant, round after round, on fresh directories and on one that
// keeps its jobs, half of whose owners are killed (leaving a LOCK whose owner is dead, to be
// taken over in the race). Every round has exactly one owner, and every add an owner was
// answered is there when the directory is opened again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Interface } from 'node:readline';
import { after, test } from 'node:test';
import { LockedError } from '../src/errors.ts';
import { FileStore } from '../src/store/file/file-store.ts';

const root = mkdtempSync(join(tmpdir(), 'spool-lock-race-'));
after(() => rmSync(root, { recursive: true, force: true }));
const fixture = join(import.meta.dirname, 'fixtures', 'lock-racer.ts');
const racers = 8;
const rounds = 20;

interface Racer {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  readonly lines: AsyncIterator<string>;
  readonly reader: Interface;
}

function spawnRacer(): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reader = createInterface({ input: child.stdout });
  return { child, reader, lines: reader[Symbol.asyncIterator]() };
}

async function next(racer: Racer): Promise<string> {
  const result = await racer.lines.next();
  assert.ok(result.done !== true, `racer ${racer.child.pid} exited`);
  return result.value;
}

/** One round: everyone opens `dir` at once. Returns the owner and what it was answered. */
async function race(all: Racer[], dir: string): Promise<{ owners: Racer[]; added: Map<string, string> }> {
  for (const r of all) r.child.stdin.write(`go ${dir}\n`);
  const owners: Racer[] = [];
  const added = new Map<string, string>();
  await Promise.all(
    all.map(async (r) => {
      const first = await next(r);
      if (first === 'locked') return;
      assert.equal(first, 'owner');
      owners.push(r);
      for (let line = await next(r); line !== 'done'; line = await next(r)) {
        const [, id, payload] = line.split(' ');
        // Two owners hand out the same ids: the second answer would hide the first.
        assert.ok(!added.has(id!), `id ${id} answered twice`);
        added.set(id!, payload!);
      }
    }),
  );
  return { owners, added };
}

async function assertKept(dir: string, added: Map<string, string>, round: string): Promise<void> {
  const store = await FileStore.open(dir);
  try {
    const records = await store.get({ now: Date.now(), ids: [...added.keys()] });
    [...added.values()].forEach((payload, i) => {
      const got = records[i]?.payload;
      assert.equal(
        got === undefined ? null : Buffer.from(got).toString(),
        payload,
        `${round}: an answered add was lost`,
      );
    });
  } finally {
    await store.close();
  }
}

async function stop(r: Racer, how: 'close' | 'kill'): Promise<void> {
  if (how === 'close') {
    r.child.stdin.write('close\n');
    assert.equal(await next(r), 'closed');
    return;
  }
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill('SIGKILL');
  await exited;
}

void test(`${racers} processes open one directory at once, ${rounds} rounds fresh and ${rounds} existing: one owner each round, nothing answered is lost`, async () => {
  const all = Array.from({ length: racers }, spawnRacer);
  try {
    const existing = join(root, 'existing');
    const kept = new Map<string, string>();
    for (let round = 0; round < 2 * rounds; round++) {
      const fresh = round % 2 === 0;
      const dir = fresh ? join(root, `fresh-${round}`) : existing;
      const name = `${fresh ? 'fresh' : 'existing'} round ${round >> 1}`;
      const { owners, added } = await race(all, dir);
      assert.equal(owners.length, 1, `${name}: ${owners.length} owners`);
      // On the existing directory every other owner dies holding the lock: the next round takes it over.
      const how = !fresh && round % 4 === 1 ? 'kill' : 'close';
      for (const owner of owners) await stop(owner, how);
      if (how === 'kill') for (const owner of owners) all.splice(all.indexOf(owner), 1, spawnRacer());
      if (fresh) await assertKept(dir, added, name);
      else for (const [id, payload] of added) kept.set(id, payload);
    }
    await assertKept(existing, kept, 'existing directory');
    assert.equal(kept.size, rounds * 20);
  } finally {
    for (const r of all) {
      r.reader.close();
      r.child.kill('SIGKILL');
    }
  }
});

/** An identity as LOCK holds it, for a process that is gone or for `pid`. */
async function identity(pid?: number): Promise<{ pid: number; token: string; text: string }> {
  if (pid === undefined) {
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    pid = gone.pid!;
  }
  const token = `t${pid}${Math.random().toString(16).slice(2)}`;
  return { pid, token, text: JSON.stringify({ v: 1, pid, host: hostname(), boot: '', start: '', token }) };
}

void test('a process that died while taking over a dead owner is taken over in turn; a live one holds the directory', async () => {
  const dir = join(root, 'claims');
  mkdirSync(dir);
  const dead = await identity();
  const deadClaimant = await identity();
  writeFileSync(join(dir, 'LOCK'), dead.text);
  writeFileSync(join(dir, `LOCK.next-${dead.token}`), deadClaimant.text);
  const store = await FileStore.open(dir);
  assert.equal((JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { pid: number }).pid, process.pid);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('LOCK.')),
    [],
  );
  await store.close();

  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
  try {
    await new Promise((resolve) => live.once('spawn', resolve));
    const claimant = await identity(live.pid);
    writeFileSync(join(dir, 'LOCK'), dead.text);
    writeFileSync(join(dir, `LOCK.next-${dead.token}`), claimant.text);
    await assert.rejects(FileStore.open(dir), (e: unknown) => e instanceof LockedError && e.ownerPid === live.pid);
  } finally {
    live.kill('SIGKILL');
  }
});
