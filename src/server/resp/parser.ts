// The request side of RESP2, streaming: arrays of bulk strings (what every client library sends)
// and inline commands (what a person types into telnet). A client-side reply parser such as
// redis-parser would read these frames too, but it buffers any bulk length it is told and
// knows no limits: a server must refuse `$999999999999` before it holds a byte of it.
import { inlineWords } from './inline.ts';

export interface ParserLimits {
  /** Largest bulk string (one argument), in bytes. */
  readonly maxBulkBytes: number;
  /** Most arguments in one command, the command name included. */
  readonly maxArgs: number;
  /** Largest command as a whole (many arguments each under `maxBulkBytes` can still add up). */
  readonly maxCommandBytes: number;
}

/** A frame no RESP server would read: answered with `-ERR Protocol error: …`, then the connection closes. */
export class ProtocolError extends Error {}

/** Longest line that can still be a header (`*n`, `$n`) or an inline command: Redis's own bound. */
const maxLineBytes = 64 * 1024;
const CR = 13;
const LF = 10;

const empty = Buffer.alloc(0);

/**
 * Feed it chunks with `push`, take whole commands with `next` until it returns null. It holds at
 * most one unfinished command of `maxCommandBytes`, plus what arrived in the same chunk. The
 * commands of a chunk are read where they lie, from an offset: no Buffer or array is made for
 * what is left after each (issue 17).
 */
export class RequestParser {
  readonly #limits: ParserLimits;
  /** The chunk being read, from `#at`. */
  #head: Buffer = empty;
  #at = 0;
  /** Chunks that came after `#head`, joined to it when a command spans them. */
  #tail: Buffer[] = [];
  #bytes = 0;
  /** Bytes needed before another attempt can get further (so a large bulk is not rescanned per chunk). */
  #need = 1;
  /** Where the command `#multibulk` or `#inline` just read ends in `#head`; else, as an index in it, the bytes it needs. */
  #end = 0;

  constructor(limits: ParserLimits) {
    this.#limits = limits;
  }

  /** Bytes received and not yet returned as commands. */
  get buffered(): number {
    return this.#bytes;
  }

  push(chunk: Buffer): void {
    if (this.#bytes === 0) {
      this.#head = chunk;
      this.#at = 0;
    } else this.#tail.push(chunk);
    this.#bytes += chunk.length;
  }

  /** The next whole command (possibly empty, which callers skip), or null until more bytes come. */
  next(): Buffer[] | null {
    if (this.#bytes < this.#need) return null;
    if (this.#tail.length > 0) {
      this.#head = Buffer.concat([this.#head.subarray(this.#at), ...this.#tail], this.#bytes);
      this.#at = 0;
      this.#tail = [];
    }
    const buf = this.#head;
    const at = this.#at;
    const args = buf[at] === 0x2a ? this.#multibulk(buf, at) : this.#inline(buf, at);
    if (args === null) {
      const need = this.#end - at;
      if (need > this.#limits.maxCommandBytes)
        throw new ProtocolError(`command over the limit of ${this.#limits.maxCommandBytes} bytes`);
      this.#need = need;
      return null;
    }
    this.#bytes -= this.#end - at;
    if (this.#bytes === 0) {
      // The chunk is read: not held any longer.
      this.#head = empty;
      this.#at = 0;
    } else this.#at = this.#end;
    this.#need = 1;
    return args;
  }

  /** The command of the multibulk at `from`, or null with `#end` the index the bytes must reach first. */
  #multibulk(buf: Buffer, from: number): Buffer[] | null {
    const header = line(buf, from);
    if (header === null) return this.#short(buf.length + 1);
    const count = integer(buf, from + 1, header);
    if (count === null) throw new ProtocolError('invalid multibulk length');
    if (count > this.#limits.maxArgs)
      throw new ProtocolError(`too many arguments (${count}, at most ${this.#limits.maxArgs})`);
    const args: Buffer[] = [];
    let at = header + 2;
    for (let i = 0; i < count; i++) {
      if (at >= buf.length) return this.#short(at + 1);
      if (buf[at] !== 0x24) throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[at] as number)}'`);
      const end = line(buf, at);
      if (end === null) return this.#short(buf.length + 1);
      const length = integer(buf, at + 1, end);
      if (length === null || length < 0) throw new ProtocolError('invalid bulk length');
      if (length > this.#limits.maxBulkBytes)
        throw new ProtocolError(`bulk length ${length} is over the limit of ${this.#limits.maxBulkBytes} bytes`);
      const start = end + 2;
      if (buf.length < start + length + 2) return this.#short(start + length + 2);
      if (buf[start + length] !== CR || buf[start + length + 1] !== LF)
        throw new ProtocolError('bulk string not followed by CRLF');
      args.push(buf.subarray(start, start + length));
      at = start + length + 2;
    }
    this.#end = at;
    return args;
  }

  /** A line of words, as telnet sends it, quoted as Redis reads them (inline.ts). */
  #inline(buf: Buffer, from: number): Buffer[] | null {
    const lf = buf.indexOf(LF, from);
    if (lf < 0) {
      if (buf.length - from > maxLineBytes) throw new ProtocolError('too big inline request');
      return this.#short(buf.length + 1);
    }
    const end = lf > from && buf[lf - 1] === CR ? lf - 1 : lf;
    this.#end = lf + 1;
    const words = inlineWords(buf.subarray(from, end).toString('latin1'));
    if (words === null) throw new ProtocolError('unbalanced quotes in request');
    return words.map((w) => Buffer.from(w, 'latin1'));
  }

  /** Not all there: the bytes must reach index `end` of the chunk first. */
  #short(end: number): null {
    this.#end = end;
    return null;
  }
}

/** Index of the CR of the CRLF ending the line at `from`; null when it has not arrived. */
function line(buf: Buffer, from: number): number | null {
  const lf = buf.indexOf(LF, from);
  if (lf < 0) {
    if (buf.length - from > maxLineBytes) throw new ProtocolError('too big header line');
    return null;
  }
  if (lf === from || buf[lf - 1] !== CR) throw new ProtocolError('header line not ended by CRLF');
  return lf - 1;
}

/** The decimal integer in buf[from, to), or null when it is not one (signs, spaces, over 15 digits). */
function integer(buf: Buffer, from: number, to: number): number | null {
  let negative = false;
  let i = from;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  if (i === to || to - i > 15) return null;
  let n = 0;
  for (; i < to; i++) {
    const c = buf[i] as number;
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  return negative ? -n : n;
}
