import { readFileSync } from 'node:fs';
import { ValidationError } from '../index.ts';

/** A payload from the command line: JSON text, `@file` with JSON in it, or `-` for stdin. */
export function payload(arg: string): unknown {
  const text = arg === '-' ? readFileSync(0, 'utf8') : arg.startsWith('@') ? readFile(arg.slice(1)) : arg;
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('payload', `is not JSON (quote a string as '"text"'): ${text.slice(0, 60)}`);
  }
}

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError('payload', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
