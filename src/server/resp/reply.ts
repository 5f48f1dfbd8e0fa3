// RESP2 replies as values, and their bytes. A command returns a Reply; the connection encodes it.

export type Reply =
  /** A bulk string. */
  | string
  | Buffer
  /** An integer (bigint past 2^53). */
  | number
  | bigint
  /** The null bulk string `$-1`. */
  | null
  | readonly Reply[]
  | Status
  | ErrorReply
  | NullArray;

export interface Status {
  readonly status: string;
}

/** `-CODE message`: the first word is what clients match on. */
export interface ErrorReply {
  readonly error: string;
}

/** The null multi-bulk `*-1`: Disque's "nothing" for GETJOB and QSTAT. */
export interface NullArray {
  readonly nullArray: true;
}

export const ok: Status = { status: 'OK' };
export const nullArray: NullArray = { nullArray: true };
export const status = (text: string): Status => ({ status: text });
export const errorReply = (code: string, message: string): ErrorReply => ({ error: `${code} ${message}` });

/** A reply the command refuses with: thrown by argument checks, answered as `-CODE message`. */
export class ReplyError extends Error {
  constructor(
    readonly respCode: string,
    message: string,
  ) {
    super(message);
  }
}

export const syntaxError = (): ReplyError => new ReplyError('ERR', 'syntax error');

/**
 * A reply's bytes: text when it holds no Buffer (most do: ids, counts, job triples of text
 * bodies), so a connection can join a turn's replies into one string and write it at once,
 * without a Buffer per reply.
 */
export function encode(reply: Reply): string | Buffer {
  const text = write(reply, '', parts);
  if (parts.length === 0) return text;
  parts.push(Buffer.from(text, 'utf8'));
  const bytes = Buffer.concat(parts);
  parts.length = 0;
  return bytes;
}

/** `encode`'s Buffers, empty between calls: most replies have none, and need no array of their own. */
const parts: Buffer[] = [];

/** Appends `reply` to `text`; a Buffer moves `text` and itself into `parts`, and the text starts again. */
function write(reply: Reply, text: string, parts: Buffer[]): string {
  if (reply === null) return `${text}$-1\r\n`;
  switch (typeof reply) {
    case 'number':
      return `${text}:${Math.trunc(reply)}\r\n`;
    case 'bigint':
      return `${text}:${reply}\r\n`;
    case 'string':
      return `${text}$${Buffer.byteLength(reply)}\r\n${reply}\r\n`;
  }
  if (Buffer.isBuffer(reply)) {
    parts.push(Buffer.from(`${text}$${reply.length}\r\n`, 'utf8'), reply);
    return '\r\n';
  }
  if (isArray(reply)) {
    let out = `${text}*${reply.length}\r\n`;
    for (const item of reply) out = write(item, out, parts);
    return out;
  }
  if ('status' in reply) return `${text}+${oneLine(reply.status)}\r\n`;
  if ('error' in reply) return `${text}-${oneLine(reply.error)}\r\n`;
  return `${text}*-1\r\n`;
}

const isArray = (reply: Reply): reply is readonly Reply[] => Array.isArray(reply);

/** A status or error line may not hold CR or LF: they would end the reply early. */
const oneLine = (text: string): string =>
  text.includes('\r') || text.includes('\n') ? text.replace(/[\r\n]+/g, ' ') : text;
