import { ValidationError } from '../../index.ts';

// Go's time.ParseDuration, which BlockQueue's `?timeout=` and `visibility_duration` use:
// a sequence of decimal numbers with units ns, us (µs), ms, s, m, h, after an optional '+';
// "0" alone is allowed. A negative duration ('-', which Go reads) is refused: no wait is one.
const unitMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const whole = /^(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Milliseconds (rounded up, so a 1ns wait still waits), or ValidationError with Go's wording. */
export function parseGoDuration(written: string, field: string): number {
  const text = written.startsWith('+') ? written.slice(1) : written;
  if (text === '0') return 0;
  if (!whole.test(text)) throw new ValidationError(field, `time: invalid duration ${JSON.stringify(written)}`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(part)) ms += Number(amount) * (unitMs[unit as string] as number);
  return Math.ceil(ms);
}
