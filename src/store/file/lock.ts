import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LockedError } from '../../errors.ts';

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process owns a data directory: LOCK holds the owner's pid. A second open, here or in
 * another process, fails with LockedError; a lock whose pid is gone is taken over (dque#2).
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  if (heldHere.has(path)) throw new LockedError(dir, process.pid);
  for (;;) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(String(process.pid));
      await file.sync();
      await file.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        throw new LockedError(dir, owner);
      await rm(path, { force: true });
    }
  }
  heldHere.add(path);
  return async () => {
    heldHere.delete(path);
    await rm(path, { force: true });
  };
}
