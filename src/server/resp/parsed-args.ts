// A connection's last parse of a command's arguments, by their bytes: a consumer sends the same
// GETJOB over and over, and comparing its few bytes costs less than reading its words again
// (issue 17). A parse must be a function of the bytes alone, and its result is shared: read-only.
import { sameBytes } from './names.ts';

/** Most bytes of arguments a parse is kept for: a command with a long argument is parsed each time. */
const maxBytes = 256;

export class LastParse<T> {
  /** Copies, so that the chunks they came in are not held. */
  #args: Buffer[] = [];
  #parsed: T | null = null;

  constructor(private readonly parse: (args: readonly Buffer[]) => T) {}

  of(args: readonly Buffer[]): T {
    if (this.#parsed !== null && sameArgs(args, this.#args)) return this.#parsed;
    const parsed = this.parse(args);
    let bytes = 0;
    for (const arg of args) bytes += arg.length;
    if (bytes <= maxBytes) {
      this.#args = args.map((arg) => Buffer.from(arg));
      this.#parsed = parsed;
    }
    return parsed;
  }
}

function sameArgs(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameBytes(a[i] as Buffer, b[i] as Buffer)) return false;
  return true;
}
