// Paths a test needs unwritable, also as root, whom mode bits do not stop.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, statSync } from 'node:fs';

/**
 * Makes `paths` unwritable for this process and returns what undoes it: mode bits, or for root,
 * whom they do not stop, the immutable attribute. A machine where neither works fails the test
 * that needs it, saying so: CI skips nothing.
 */
export function readOnly(paths: readonly string[]): () => void {
  const root = process.getuid?.() === 0;
  let undo: () => void;
  if (root) {
    try {
      execFileSync('chattr', ['+i', ...paths], { stdio: 'ignore' });
    } catch (error) {
      throw new Error(
        `chattr +i failed: root needs it (e2fsprogs, a file system with attributes) to make a path read-only`,
        {
          cause: error,
        },
      );
    }
    undo = () => execFileSync('chattr', ['-i', ...paths], { stdio: 'ignore' });
  } else {
    for (const path of paths) chmodSync(path, statSync(path).isDirectory() ? 0o555 : 0o444);
    undo = () => paths.forEach((path) => chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644));
  }
  if (paths.every((path) => !writable(path))) return undo;
  undo();
  throw new Error(`${paths.join(', ')} stayed writable for this process after ${root ? 'chattr +i' : 'chmod'}`);
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
