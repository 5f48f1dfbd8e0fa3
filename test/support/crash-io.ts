// A disk in memory that can lose power, like SQLite's crash-test VFS: the file store writes
// through `CrashDisk.io()`, and `crash(rng)` leaves what a power cut could leave. Each file has
// its durable content and the writes made since its last completed datasync; each directory
// entry change (create, rename, remove) stays volatile until a syncDir. A crash keeps, drops or
// tears each volatile write (a prefix, or 512-byte sectors kept, dropped or zeroed each on its
// own: pages reach the disk in any order) and keeps or loses each volatile entry change.
//
// The disk is flat: every path maps to its base name, so each process (`io()`) may open the
// store under its own real directory. That matters because the LOCK file is real, and a crashed
// store still holds its lock in this process.
import { basename } from 'node:path';
import type { FileIO } from '../../src/store/file/io.ts';

/** A small seeded PRNG (mulberry32): a seed replays the same crash. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;
export const below = (rng: Rng, n: number): number => Math.floor(rng() * n);

const sectorBytes = 512;

type DataOp =
  | { readonly kind: 'write'; readonly at: number; readonly bytes: Buffer }
  | { readonly kind: 'truncate'; readonly length: number };

type EntryOp =
  | { readonly kind: 'link'; readonly name: string; readonly file: File }
  | { readonly kind: 'unlink'; readonly name: string; readonly file: File }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string; readonly file: File };

/** Content that grows like a file: writes past the end leave zeros. */
class Bytes {
  buf = Buffer.alloc(0);
  length = 0;

  static of(source: Bytes): Bytes {
    const copy = new Bytes();
    copy.buf = Buffer.from(source.buf.subarray(0, source.length));
    copy.length = source.length;
    return copy;
  }

  resize(length: number): void {
    if (length > this.buf.length) {
      const grown = Buffer.alloc(Math.max(length, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    } else if (length > this.length) this.buf.fill(0, this.length, length);
    this.length = length;
  }

  write(at: number, bytes: Uint8Array): void {
    if (at + bytes.length > this.length) this.resize(at + bytes.length);
    this.buf.set(bytes, at);
  }

  apply(op: DataOp): void {
    if (op.kind === 'write') this.write(op.at, op.bytes);
    else this.resize(op.length);
  }

  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

class File {
  durable = new Bytes();
  current = new Bytes();
  /** Data changes not yet covered by a completed datasync; `ops[0]` is change number `base`. */
  ops: DataOp[] = [];
  base = 0;

  /** Makes changes up to number `upTo` durable. */
  settle(upTo: number): void {
    while (this.base < upTo && this.ops.length > 0) {
      this.durable.apply(this.ops.shift() as DataOp);
      this.base++;
    }
  }
}

/** A Node-style error with a `code`, as node:fs throws. */
export function fsError(code: string, what: string): Error {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

interface Handle {
  readonly file: File;
  readonly name: string;
  readonly generation: number;
}

export interface DiskStats {
  datasyncs: number;
  dirSyncs: number;
  crashes: number;
  writes: number;
}

export class CrashDisk {
  /** Directory entries as the running processes see them, and as the disk has them. */
  #entries = new Map<string, File>();
  #durableEntries = new Map<string, File>();
  #entryOps: EntryOp[] = [];
  #entryBase = 0;
  readonly #handles = new Map<number, Handle>();
  #nextFd = 3;
  /** Bumped by a crash or a kill: the io of an older process stops working. */
  #generation = 0;
  /** Decides how long each sync takes (in turns of the event loop). */
  readonly #latency: Rng;
  #failDatasyncIn: number | null = null;
  #failSyncDirIn: number | null = null;
  #failDatasyncWhere: (name: string) => boolean = () => true;
  #spaceLeft = Infinity;
  #hold: { where: (name: string) => boolean; reach: () => void; released: Promise<void> } | null = null;
  readonly stats: DiskStats = { datasyncs: 0, dirSyncs: 0, crashes: 0, writes: 0 };

  constructor(seed = 1) {
    this.#latency = mulberry32(seed ^ 0x5bd1e995);
  }

  /** The nth datasync from now (1 = the next) of a file `where` accepts fails with EIO. */
  failDatasync(nth: number, where: (name: string) => boolean = () => true): void {
    this.#failDatasyncIn = nth;
    this.#failDatasyncWhere = where;
  }

  /** The nth directory sync from now fails with EIO. */
  failSyncDir(nth: number): void {
    this.#failSyncDirIn = nth;
  }

  /**
   * Holds the next datasync of a file `where` accepts before it syncs anything: `reached`
   * resolves once it is held, `release` lets it go on. A test acts at that exact moment
   * instead of guessing it from turns of the event loop.
   */
  holdDatasync(where: (name: string) => boolean): { reached: Promise<void>; release: () => void } {
    let reach = (): void => {};
    let release = (): void => {};
    const reached = new Promise<void>((resolve) => (reach = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#hold = { where, reach, released };
    return { reached, release };
  }

  /** A datasync failure asked for has not happened yet. */
  get datasyncFailurePending(): boolean {
    return this.#failDatasyncIn !== null;
  }

  /** Writes fail with ENOSPC once `bytes` more were written; the write that crosses it lands in part. */
  fillUpAfter(bytes: number): void {
    this.#spaceLeft = bytes;
  }

  /** Room again (someone deleted a file elsewhere). */
  freeSpace(): void {
    this.#spaceLeft = Infinity;
  }

  /** Names on the disk as a running process sees them, with sizes. */
  files(): Record<string, number> {
    return Object.fromEntries(
      [...this.#entries].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, f]) => [n, f.current.length]),
    );
  }

  /** The content a running process reads from `name`. */
  read(name: string): Buffer {
    const file = this.#entries.get(basename(name));
    if (file === undefined) throw fsError('ENOENT', name);
    return Buffer.from(file.current.view());
  }

  /** The process dies (kill -9): what it wrote stays in the page cache, its io stops working. */
  kill(): void {
    this.#generation++;
  }

  /** The power goes: the disk keeps what was synced and, of the rest, what `rng` decides. */
  crash(rng: Rng): void {
    this.#generation++;
    this.stats.crashes++;
    const entries = new Map(this.#durableEntries);
    for (const op of this.#entryOps) if (rng() < 0.5) applyEntry(entries, op);
    for (const file of new Set(entries.values())) {
      const image = Bytes.of(file.durable);
      for (const op of file.ops) tear(image, op, rng);
      file.durable = image;
      file.current = Bytes.of(image);
      file.base += file.ops.length;
      file.ops = [];
    }
    this.#entries = entries;
    this.#durableEntries = new Map(entries);
    this.#entryBase += this.#entryOps.length;
    this.#entryOps = [];
    this.#handles.clear();
    this.#failDatasyncIn = null;
    this.#failSyncDirIn = null;
    this.#spaceLeft = Infinity;
  }

  /** The file layer of one process; it stops working (every call throws) after a kill or crash. */
  io(): FileIO {
    const generation = this.#generation;
    const alive = (what: string): void => {
      if (this.#generation !== generation) throw fsError('EBADF', `${what}: the process is gone`);
    };
    const handle = (fd: number, what: string): Handle => {
      alive(what);
      const h = this.#handles.get(fd);
      if (h === undefined || h.generation !== generation) throw fsError('EBADF', `${what} on fd ${fd}`);
      return h;
    };
    return {
      list: (_dir) => {
        alive('list');
        return [...this.#entries.keys()];
      },
      mkdir: () => alive('mkdir'),
      open: (path, create) => {
        alive('open');
        const name = basename(path);
        let file = this.#entries.get(name);
        if (create) {
          if (file !== undefined) throw fsError('EEXIST', `open ${path}`);
          file = new File();
          this.#entries.set(name, file);
          this.#entryOps.push({ kind: 'link', name, file });
        } else if (file === undefined) throw fsError('ENOENT', `open ${path}`);
        const fd = this.#nextFd++;
        this.#handles.set(fd, { file, name, generation });
        return fd;
      },
      close: (fd) => {
        handle(fd, 'close');
        this.#handles.delete(fd);
      },
      size: (fd) => handle(fd, 'fstat').file.current.length,
      read: (fd, buf, position) => {
        const { current } = handle(fd, 'read').file;
        const n = Math.max(0, Math.min(buf.byteLength, current.length - position));
        buf.set(current.buf.subarray(position, position + n));
        return n;
      },
      write: (fd, buf, position) => {
        const { file, name } = handle(fd, 'write');
        this.stats.writes++;
        const room = Math.min(buf.byteLength, this.#spaceLeft);
        if (room > 0) {
          const op: DataOp = { kind: 'write', at: position, bytes: Buffer.from(buf.subarray(0, room)) };
          file.current.apply(op);
          file.ops.push(op);
        }
        this.#spaceLeft -= room;
        if (room < buf.byteLength) throw fsError('ENOSPC', `write ${name}: no space left on device`);
      },
      truncate: (fd, length) => {
        const { file } = handle(fd, 'ftruncate');
        const op: DataOp = { kind: 'truncate', length };
        file.current.apply(op);
        file.ops.push(op);
      },
      datasync: async (fd) => {
        const { file, name } = handle(fd, 'fdatasync');
        this.stats.datasyncs++;
        const upTo = file.base + file.ops.length;
        const hold = this.#hold;
        if (hold !== null && hold.where(name)) {
          this.#hold = null;
          hold.reach();
          await hold.released;
        }
        await this.#delay();
        alive('fdatasync');
        if (this.#failDatasyncIn !== null && this.#failDatasyncWhere(name) && --this.#failDatasyncIn === 0) {
          // fsyncgate: the pages may or may not have reached the disk; they stay volatile.
          this.#failDatasyncIn = null;
          throw fsError('EIO', `fdatasync ${name}: input/output error`);
        }
        file.settle(upTo);
      },
      rename: (from, to) => {
        alive('rename');
        const [a, b] = [basename(from), basename(to)];
        const file = this.#entries.get(a);
        if (file === undefined) throw fsError('ENOENT', `rename ${from}`);
        this.#entries.delete(a);
        this.#entries.set(b, file);
        this.#entryOps.push({ kind: 'rename', from: a, to: b, file });
      },
      remove: (path) => {
        alive('remove');
        const name = basename(path);
        const file = this.#entries.get(name);
        if (file === undefined) return;
        this.#entries.delete(name);
        this.#entryOps.push({ kind: 'unlink', name, file });
      },
      syncDir: async () => {
        alive('fsync dir');
        this.stats.dirSyncs++;
        const upTo = this.#entryBase + this.#entryOps.length;
        await this.#delay();
        alive('fsync dir');
        if (this.#failSyncDirIn !== null && --this.#failSyncDirIn === 0) {
          this.#failSyncDirIn = null;
          throw fsError('EIO', 'fsync of the directory: input/output error');
        }
        while (this.#entryBase < upTo && this.#entryOps.length > 0) {
          applyEntry(this.#durableEntries, this.#entryOps.shift() as EntryOp);
          this.#entryBase++;
        }
      },
    };
  }

  /** A sync takes zero to three turns of the event loop, so writes and syncs interleave. */
  async #delay(): Promise<void> {
    for (let i = below(this.#latency, 4); i > 0; i--) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Applies a directory entry change, if what it changes is still there. */
function applyEntry(entries: Map<string, File>, op: EntryOp): void {
  if (op.kind === 'link') entries.set(op.name, op.file);
  else if (op.kind === 'unlink') {
    if (entries.get(op.name) === op.file) entries.delete(op.name);
  } else if (entries.get(op.from) === op.file) {
    entries.delete(op.from);
    entries.set(op.to, op.file);
  }
}

/** What of a volatile change reaches the disk: all, none, a prefix, or some of its sectors. */
function tear(image: Bytes, op: DataOp, rng: Rng): void {
  const r = rng();
  if (op.kind === 'truncate' || r < 0.6) {
    if (r >= 0.3) image.apply(op);
    return;
  }
  const { at, bytes } = op;
  if (r < 0.8) {
    image.write(at, bytes.subarray(0, below(rng, bytes.length + 1)));
    return;
  }
  for (let s = Math.floor(at / sectorBytes) * sectorBytes; s < at + bytes.length; s += sectorBytes) {
    const from = Math.max(s, at);
    const to = Math.min(s + sectorBytes, at + bytes.length);
    const fate = rng();
    if (fate < 1 / 3) image.write(from, bytes.subarray(from - at, to - at));
    else if (fate < 2 / 3) image.write(from, Buffer.alloc(to - from));
  }
}
