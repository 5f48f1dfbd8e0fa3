import { open, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LockedError } from '../../errors.ts';

const heldHere = new Set<string>();

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or null
 * where there is no /proc. A pid that is alive but started at another time is a reused pid.
 */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owner a LOCK file names: `<pid> <start time>`, or a bare pid from an older spool. */
function owner(text: string): { pid: number; start: string | null } {
  const [pid, start] = text.trim().split(' ');
  return { pid: Number(pid), start: start ?? null };
}

/**
 * One process owns a data directory: LOCK holds the owner's pid and start time. A second open,
 * here or in another process, fails with LockedError; a lock whose process is gone, or whose pid
 * now belongs to a process that started later (a reused pid), is taken over (dque#2).
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  if (heldHere.has(path)) throw new LockedError(dir, process.pid);
  for (;;) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(`${process.pid} ${startTime(process.pid) ?? ''}`.trim());
      await file.sync();
      await file.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const { pid, start } = owner(await readFile(path, 'utf8').catch(() => ''));
      const live = Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid);
      if (live && (start === null || startTime(pid) === null || startTime(pid) === start))
        throw new LockedError(dir, pid);
      await rm(path, { force: true });
    }
  }
  heldHere.add(path);
  return async () => {
    heldHere.delete(path);
    await rm(path, { force: true });
  };
}
