// One process owns a data directory. LOCK names the owner; it appears whole or not at all, and
// only one process can ever succeed a dead owner.
//
// - Acquire: the owner's identity is written to a private file and synced, then hard-linked to
//   LOCK. link() fails with EEXIST when LOCK exists, so two processes cannot both create it, and
//   LOCK is never seen empty (issue 20: the old `wx` create let a racer take the empty file for a
//   stale lock, delete it, and own the directory beside its owner).
// - Take-over: LOCK whose owner is dead (its pid gone on this host, or reused by a process that
//   started at another time, or the machine rebooted) is succeeded by whoever links its identity
//   to `LOCK.next-<dead owner's token>` first: one name per dead owner, so one winner. The winner
//   checks that LOCK still names that owner (only this claim can change it now) and renames the
//   claim over LOCK. A claimant that died holding its claim is succeeded the same way.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockedError } from '../../errors.ts';

const heldHere = new Set<string>();

/** What LOCK says, version 1. Readers ignore fields they do not know, so more can be added. */
interface Owner {
  readonly v: 1;
  readonly pid: number;
  readonly host: string;
  /** /proc/sys/kernel/random/boot_id, or '' where there is none. */
  readonly boot: string;
  /** The process's start time in clock ticks since boot, or '' where there is no /proc. */
  readonly start: string;
  /** Unique to this owner: names the one file its successor may claim. */
  readonly token: string;
}

function readText(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** When a process started (field 22 of /proc/<pid>/stat), or '' where there is no /proc. */
function startTime(pid: number): string {
  const stat = readText(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  return stat === null ? '' : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '');
}

const bootId = (): string => (readText('/proc/sys/kernel/random/boot_id') ?? '').trim();

function me(): Owner {
  return {
    v: 1,
    pid: process.pid,
    host: hostname(),
    boot: bootId(),
    start: startTime(process.pid),
    token: randomBytes(16).toString('hex'),
  };
}

/**
 * The owner a lock file names. Older spools wrote `<pid> <start time>` or a bare pid: such a lock
 * is this host's, and its token is its text, which is as unique as its owner.
 */
function parseOwner(text: string): Owner {
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as Partial<Owner>;
      if (typeof o.pid === 'number' && typeof o.token === 'string')
        return { v: 1, pid: o.pid, host: o.host ?? '', boot: o.boot ?? '', start: o.start ?? '', token: o.token };
    } catch {
      // Not JSON after all: read it as an old lock below.
    }
  }
  const [pid, start] = text.trim().split(' ');
  return {
    v: 1,
    pid: Number(pid),
    host: hostname(),
    boot: '',
    start: start ?? '',
    token: `old-${Buffer.from(text).toString('hex').slice(0, 64)}`,
  };
}

function readOwner(path: string): Owner | null {
  const text = readText(path);
  return text === null ? null : parseOwner(text);
}

/** Whether the owner may still be running. Another host's owner always may: there is no telling. */
function mayLive(owner: Owner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.boot !== '' && bootId() !== '' && owner.boot !== bootId()) return false;
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  // This process's own locks are in `heldHere`: one naming our pid is left from an earlier
  // process that had it.
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A live pid that started at another time is a reused pid (dque#2).
  const now = startTime(owner.pid);
  return owner.start === '' || now === '' || now === owner.start;
}

function exists(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}

/** Won; or not now, with the pid of a live process that is succeeding the dead owner, if one is. */
type Step = 'won' | { readonly claimant: number | null };

/**
 * Makes `target`, which held `dead`'s identity when read, hold ours (at `mine`), unless someone
 * else succeeds `dead` first. Only the holder of `LOCK.next-<dead token>` may replace `dead`.
 */
function succeed(dir: string, target: string, dead: Owner, mine: string): Step {
  const claim = join(dir, `LOCK.next-${dead.token}`);
  try {
    fs.linkSync(mine, claim);
  } catch (error) {
    if (!exists(error)) throw error;
    const claimant = readOwner(claim);
    if (claimant === null) return { claimant: null };
    if (mayLive(claimant)) return { claimant: claimant.pid };
    // The claimant died before finishing: succeed it, which puts our identity at `claim`.
    const step = succeed(dir, claim, claimant, mine);
    if (step !== 'won') return step;
  }
  // Nobody but the holder of `claim` can change `target` while it names `dead`.
  if (readOwner(target)?.token !== dead.token) {
    fs.rmSync(claim, { force: true });
    return { claimant: null };
  }
  fs.renameSync(claim, target);
  return 'won';
}

/** Removes the claims and private files that dead processes left behind. */
function sweep(dir: string, self: Owner): void {
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith('LOCK.')) continue;
    const path = join(dir, name);
    const pid = name.startsWith('LOCK.own-') ? Number(name.split('-')[1]) : readOwner(path)?.pid;
    if (pid === self.pid || pid === undefined) continue;
    if (!mayLive({ ...self, pid, start: '', token: '' })) fs.rmSync(path, { force: true });
  }
}

/**
 * Takes the lock of `dir` for this process; returns its release. A live owner, here or in
 * another process, makes it fail with LockedError.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  if (heldHere.has(path)) throw new LockedError(dir, process.pid);
  // Taken before the first await: a second open in this process fails at once.
  heldHere.add(path);
  const self = me();
  const mine = join(dir, `LOCK.own-${self.pid}-${self.token}`);
  try {
    const fd = fs.openSync(mine, 'wx');
    try {
      fs.writeFileSync(fd, JSON.stringify(self));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    for (let tries = 0; ; tries++) {
      try {
        fs.linkSync(mine, path);
        break;
      } catch (error) {
        if (!exists(error)) throw error;
      }
      const owner = readOwner(path);
      if (owner === null) continue; // released a moment ago
      if (mayLive(owner)) throw new LockedError(dir, owner.pid);
      const step = succeed(dir, path, owner, mine);
      if (step === 'won') break;
      // A live process is succeeding the dead owner: it is about to own the directory, unless
      // it is stuck (stopped, say) for good, and then it holds it as an owner would.
      if (step.claimant !== null && tries >= 100) throw new LockedError(dir, step.claimant);
      await new Promise((resolve) => setTimeout(resolve, Math.min(tries + 1, 20)));
    }
  } catch (error) {
    heldHere.delete(path);
    throw error;
  } finally {
    fs.rmSync(mine, { force: true });
  }
  sweep(dir, self);
  return () => {
    heldHere.delete(path);
    // Ours for as long as we live: nobody replaces a live owner's LOCK.
    fs.rmSync(path, { force: true });
    return Promise.resolve();
  };
}
