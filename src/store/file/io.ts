// The file layer the file store writes through. Everything the store does to the disk goes
// through one of these calls, so a test can put a layer underneath that loses what was not yet
// synced at a chosen moment, the way a power cut does (SQLite's crash-test VFS).
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

export interface FileIO {
  /** Names in `dir`, or [] when it does not exist. */
  list(dir: string): string[];
  mkdir(dir: string): void;
  /** Opens for reading and writing; `create` makes a new file and fails if one exists. */
  open(path: string, create: boolean): number;
  close(fd: number): void;
  size(fd: number): number;
  /** Reads up to `buf.length` bytes at `position`; returns how many it read. */
  read(fd: number, buf: Uint8Array, position: number): number;
  /** Writes all of `buf` at `position`, or throws. */
  write(fd: number, buf: Uint8Array, position: number): void;
  truncate(fd: number, length: number): void;
  /** Makes the file's written bytes durable. */
  datasync(fd: number): Promise<void>;
  rename(from: string, to: string): void;
  remove(path: string): void;
  /** Makes the directory's entries (created, renamed, removed files) durable. */
  syncDir(dir: string): Promise<void>;
}

const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);

/**
 * `mkdir -p` that gives up: Node's recursive mkdir retries for ever where mkdir keeps answering
 * ENOENT under an existing parent, as in /proc (issue 13: `open('file:/proc/spool-x')` spun at
 * 100% CPU). Each level is tried once.
 */
function makeDir(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    makeDir(dirname(dir));
    fs.mkdirSync(dir);
  }
}

/** The real disk, through node:fs: synchronous writes into the page cache, asynchronous syncs. */
export const nodeIO: FileIO = {
  list: (dir) => {
    try {
      return fs.readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  },
  mkdir: (dir) => makeDir(dir),
  open: (path, create) => fs.openSync(path, create ? 'wx+' : 'r+'),
  close: (fd) => fs.closeSync(fd),
  size: (fd) => fs.fstatSync(fd).size,
  read: (fd, buf, position) => fs.readSync(fd, buf, 0, buf.byteLength, position),
  write: (fd, buf, position) => {
    let done = 0;
    while (done < buf.byteLength) done += fs.writeSync(fd, buf, done, buf.byteLength - done, position + done);
  },
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  datasync: (fd) => fdatasync(fd),
  rename: (from, to) => fs.renameSync(from, to),
  remove: (path) => fs.rmSync(path, { force: true }),
  syncDir: async (dir) => {
    // Windows cannot open a directory; NTFS journals its entries anyway.
    if (process.platform === 'win32') return;
    const fd = fs.openSync(dir, 'r');
    try {
      await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};

/**
 * nodeIO that opens existing files for reading only: `spool check` verifies a directory it may
 * not write (a read-only mount, a backup, another user's files), where `r+` failed with EROFS
 * or EACCES before a byte was read.
 */
export const readingIO: FileIO = { ...nodeIO, open: (path, create) => fs.openSync(path, create ? 'wx+' : 'r') };
