// The lower-case command names a connection was sent lately, by their bytes: a client sends a
// few names over and over (a consumer GETJOB, ACKJOB, GETJOB, …), and a name found here makes no
// string to be lowered and hashed for the command lookup (issue 17).
import { word } from './args.ts';

/** Names kept per connection: a consumer alternates two, a pipeline of mixed commands a few more. */
const size = 4;
/** The longest name kept (Disque's longest is 12 bytes). */
const maxNameBytes = 16;

export class RecentNames {
  /** Copies of the bytes, so the chunks they came in are not held. */
  readonly #written: Buffer[] = [];
  readonly #names: string[] = [];
  #next = 0;

  /** `written` lower-cased, as a string. */
  of(written: Buffer): string {
    for (let i = 0; i < this.#written.length; i++)
      if (sameBytes(written, this.#written[i] as Buffer)) return this.#names[i] as string;
    const name = word(written);
    if (written.length <= maxNameBytes) {
      this.#written[this.#next] = Buffer.from(written);
      this.#names[this.#next] = name;
      this.#next = (this.#next + 1) % size;
    }
    return name;
  }
}

export function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
