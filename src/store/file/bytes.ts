// A growable little-endian byte writer and its reader: the binary layout of log records and
// checkpoints, without a dependency.
const text = new TextDecoder();

export class ByteWriter {
  #buf: Buffer;
  #at = 0;
  /** The buffer was given (`into`): it must not be swapped for a bigger one. */
  readonly #fixed: boolean;

  constructor(capacity = 4096, given: Buffer | null = null) {
    this.#buf = given ?? Buffer.allocUnsafe(capacity);
    this.#fixed = given !== null;
  }

  /**
   * A writer of `length` bytes into `buf` at `offset`, for a record whose size was worked out first: it goes
   * straight into the log's buffer instead of through a copy (issue 16: at 64 KiB payloads the
   * copies of a bulk add cost more than its write and its sync).
   */
  static into(buf: Buffer, offset: number, length: number): ByteWriter {
    return new ByteWriter(0, buf.subarray(offset, offset + length));
  }

  get length(): number {
    return this.#at;
  }

  /** The bytes written so far; a view that the next write may overwrite. */
  view(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }

  reset(): void {
    this.#at = 0;
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#at++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.#buf.writeUInt32LE(v, this.#at);
    this.#at += 4;
  }

  f64(v: number): void {
    this.#room(8);
    this.#buf.writeDoubleLE(v, this.#at);
    this.#at += 8;
  }

  /** A nullable number: NaN stands for null. */
  maybe(v: number | null): void {
    this.f64(v ?? Number.NaN);
  }

  bytes(v: Uint8Array): void {
    this.u32(v.byteLength);
    this.raw(v);
  }

  raw(v: Uint8Array): void {
    this.#room(v.byteLength);
    this.#buf.set(v, this.#at);
    this.#at += v.byteLength;
  }

  str(v: string): void {
    const length = Buffer.byteLength(v);
    this.u32(length);
    this.#room(length);
    this.#buf.write(v, this.#at);
    this.#at += length;
  }

  /** A nullable string: length 0xffffffff stands for null. */
  maybeStr(v: string | null): void {
    if (v === null) this.u32(0xffffffff);
    else this.str(v);
  }

  /**
   * Writes again the `length` bytes written from `from` on: a bulk add's jobs mostly share every
   * field but the payload, and a copy of the last job's is cheaper than writing them one by one.
   */
  repeat(from: number, length: number): void {
    this.#room(length);
    this.#buf.copyWithin(this.#at, from, from + length);
    this.#at += length;
  }

  /** Reserves `n` bytes to fill in later; returns their offset. */
  skip(n: number): number {
    this.#room(n);
    const at = this.#at;
    this.#at += n;
    return at;
  }

  at(offset: number): Buffer {
    return this.#buf.subarray(offset);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    if (this.#fixed) throw new RangeError('a record outgrew the size worked out for it');
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(grown, 0, 0, this.#at);
    this.#buf = grown;
  }
}

export class ByteReader {
  at = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.at++] as number;
  }

  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.#need(8);
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  maybe(): number | null {
    const v = this.f64();
    return Number.isNaN(v) ? null : v;
  }

  /** A view into the buffer: copy it if it must outlive the buffer. */
  bytes(): Buffer {
    const n = this.u32();
    this.#need(n);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** The next `n` bytes, as a view. */
  raw(n: number): Buffer {
    this.#need(n);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  str(): string {
    return text.decode(this.bytes());
  }

  maybeStr(): string | null {
    if (this.buf.readUInt32LE(this.at) === 0xffffffff) {
      this.at += 4;
      return null;
    }
    return this.str();
  }

  #need(n: number): void {
    if (this.at + n > this.buf.length) throw new RangeError('record ends early');
  }
}
