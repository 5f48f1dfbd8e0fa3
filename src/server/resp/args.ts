// Reading a command's arguments the way Disque (and Redis before it) reads them.
import { ReplyError } from './reply.ts';

export const word = (arg: Buffer | undefined): string =>
  arg === undefined ? '' : arg.toString('latin1').toLowerCase();

export const text = (arg: Buffer): string => arg.toString('utf8');

/** A whole number written as Redis's string2ll accepts it, or null. */
export function integerOf(arg: Buffer | undefined): number | null {
  const s = arg?.toString('latin1') ?? '';
  if (!/^-?(?:0|[1-9][0-9]{0,17})$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
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
