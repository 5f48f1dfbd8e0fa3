// Why the file system refused an embedded store's path, in words: node:fs says "EEXIST: file
// already exists, mkdir '…'" when a store's directory is a regular file, which reads as though the
// directory were fine, and SQLite "unable to open database file" for a directory, a missing
// directory and a read-only one alike.
import { accessSync, constants, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '../errors.ts';

/**
 * The StorageError of a failed open of `path` (`what` the store calls it), which the store keeps
 * as a `kind`: what is wrong with the path when the file system shows it, then what the error
 * `says` (its own message unless the store knows better; its errno kept for logs).
 */
export function openFailed(
  path: string,
  what: string,
  kind: 'file' | 'directory',
  error: unknown,
  says: string = error instanceof Error ? error.message : String(error),
): StorageError {
  const problem = pathProblem(path, kind);
  const why = problem === null ? says : `${problem} (${says})`;
  return new StorageError(`${path}: cannot open ${what}: ${why}`, { cause: error });
}

function pathProblem(path: string, kind: 'file' | 'directory'): string | null {
  const stats = statOf(path);
  if (stats !== null) {
    if (stats.isDirectory() !== (kind === 'directory'))
      return `it is ${stats.isDirectory() ? 'a directory' : 'a file'}, not a ${kind}`;
    const denied = unwritable(path);
    if (denied !== null) return `it cannot be written (${denied})`;
    // SQLite writes its -wal, -shm and journal files beside the database.
    const dir = dirname(path);
    const dirDenied = kind === 'file' ? unwritable(dir) : null;
    return dirDenied === null ? null : `its directory ${dir} cannot be written (${dirDenied})`;
  }
  // Missing: the nearest path above it that exists is where it would be made.
  for (let above = dirname(path); ; above = dirname(above)) {
    const found = statOf(above);
    if (found !== null) {
      if (!found.isDirectory()) return `${above} is a file, not a directory`;
      // A store's directory is made with its parents; a file's directory is not.
      if (kind === 'file' && above !== dirname(path)) return `its directory ${dirname(path)} does not exist`;
      const denied = unwritable(above);
      return denied === null ? null : `it cannot be made: ${above} cannot be written (${denied})`;
    }
    if (dirname(above) === above) return null;
  }
}

function statOf(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Why `path` cannot be written (EACCES, EROFS, EPERM for an immutable one), or null when it can. */
function unwritable(path: string): string | null {
  try {
    accessSync(path, constants.W_OK);
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'not writable';
  }
}
