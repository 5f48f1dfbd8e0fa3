// Why the file system refused an embedded store's path, in words: node:fs says "EEXIST: file
// already exists, mkdir '…'" when a store's directory is a regular file, which reads as though the
// directory were fine.
import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';

/**
 * What a failed open of `path`, which the store keeps as a `kind`, says: what is wrong with the
 * path when the file system shows it, then the error's own message (its errno kept for logs).
 */
export function whyRefused(path: string, kind: 'file' | 'directory', error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const problem = pathProblem(path, kind);
  return problem === null ? message : `${problem} (${message})`;
}

function pathProblem(path: string, kind: 'file' | 'directory'): string | null {
  const stats = statOf(path);
  if (stats !== null) {
    if (stats.isDirectory() === (kind === 'directory')) return null;
    return `it is ${stats.isDirectory() ? 'a directory' : 'a file'}, not a ${kind}`;
  }
  // Missing: the nearest path above it that exists is where it would be made.
  for (let above = dirname(path); ; above = dirname(above)) {
    const found = statOf(above);
    if (found !== null) return found.isDirectory() ? null : `${above} is a file, not a directory`;
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
