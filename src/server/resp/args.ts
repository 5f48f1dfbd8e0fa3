// Reading a command's arguments the way Disque (and Redis before it) reads them.
import { ReplyError } from './reply.ts';

export const word = (arg: Buffer | undefined): string =>
  arg === undefined ? '' : arg.toString('latin1').toLowerCase();

export const text = (arg: Buffer): string => arg.toString('utf8');

/**
 * A whole number written as Redis's string2ll accepts it (`-?(0|[1-9][0-9]{0,17})`, safe in a
 * double), or null. Read from the bytes: every ADDJOB and GETJOB has one or two (issue 17).
 */
export function integerOf(arg: Buffer | undefined): number | null {
  if (arg === undefined) return null;
  const negative = arg[0] === 0x2d;
  const from = negative ? 1 : 0;
  const digits = arg.length - from;
  if (digits < 1 || digits > 18 || (arg[from] === 0x30 && digits > 1)) return null;
  let n = 0;
  for (let i = from; i < arg.length; i++) {
    const c = arg[i] as number;
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10 + (c - 0x30);
  }
  if (!Number.isSafeInteger(n)) return null;
  return negative ? -n : n;
}

/** `integerOf`, or Redis's own error when it is not one. */
export function integerArg(arg: Buffer | undefined): number {
  const n = integerOf(arg);
  if (n === null) throw new ReplyError('ERR', 'value is not an integer or out of range');
  return n;
}

/** Disque's ms-timeout arguments (ADDJOB, GETJOB TIMEOUT). */
export function timeoutArg(arg: Buffer | undefined): number {
  const n = integerOf(arg);
  if (n === null) throw new ReplyError('ERR', 'timeout is not an integer or out of range');
  if (n < 0) throw new ReplyError('ERR', 'timeout is negative');
  return n;
}

export const arityError = (name: string): ReplyError =>
  new ReplyError('ERR', `wrong number of arguments for '${name}' command`);
