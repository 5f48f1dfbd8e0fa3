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

export function encode(reply: Reply): Buffer {
  const parts: (string | Buffer)[] = [];
  write(reply, parts);
  return parts.length === 1 && typeof parts[0] === 'string'
    ? Buffer.from(parts[0], 'utf8')
    : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

function write(reply: Reply, parts: (string | Buffer)[]): void {
  if (reply === null) parts.push('$-1\r\n');
  else if (typeof reply === 'number' || typeof reply === 'bigint')
    parts.push(`:${typeof reply === 'number' ? Math.trunc(reply) : reply}\r\n`);
  else if (typeof reply === 'string') parts.push(`$${Buffer.byteLength(reply)}\r\n${reply}\r\n`);
  else if (Buffer.isBuffer(reply)) parts.push(`$${reply.length}\r\n`, reply, '\r\n');
  else if (isArray(reply)) {
    parts.push(`*${reply.length}\r\n`);
    for (const item of reply) write(item, parts);
  } else if ('status' in reply) parts.push(`+${oneLine(reply.status)}\r\n`);
  else if ('error' in reply) parts.push(`-${oneLine(reply.error)}\r\n`);
  else parts.push('*-1\r\n');
}

const isArray = (reply: Reply): reply is readonly Reply[] => Array.isArray(reply);

/** A status or error line may not hold CR or LF: they would end the reply early. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ');
