// The one duration grammar of spool, read the same by the library, store URLs, HTTP, the CLI and
// its config file (docs/durations.md). Not the `ms` package, which reads the same spellings:
// core imports no npm package, and `ms` answers a bad string with undefined, not a reason.
import { ValidationError } from '../errors.ts';

/** Milliseconds, or a string such as '250ms', '30s', '5m', '5min', '1.5h', '1h30m', '2 days'. */
export type Duration = number | string;

/**
 * The longest duration anywhere: 100 years. Past it a date computed from now leaves what a Date
 * can hold long before the number does (issue 20: a visibility of '9999999999h' made every
 * listing of the queue fail), and no queue setting means more than a century.
 */
export const maxDurationMs = 100 * 365.25 * 86_400_000;

const unitMs: Readonly<Record<string, number>> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const amount = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const part = new RegExp(String.raw`${amount}\s*([a-z]+)\s*`, 'gy');
const digitsOnly = new RegExp(String.raw`^${amount}$`);

export interface DurationRules {
  /** Also take Infinity and the word 'forever' (waits that end only when something happens). */
  readonly forever?: boolean;
  /** At least 1 ms: a time-out, lease or TTL of 0 would be none, or one already over. */
  readonly positive?: boolean;
}

const shapes = "a number of ms or a string like '250ms', '30s', '5min', '1.5h', '1h30m', '2 days'";

/** Parses a duration once, at the edge, to milliseconds; `field` names it in the error. */
export function parseDuration(value: unknown, field: string, rules: DurationRules = {}): number {
  const ms = read(value, field, rules.forever === true);
  if (rules.positive === true && ms < 1) throw new ValidationError(field, 'must be at least 1ms');
  return ms;
}

function read(value: unknown, field: string, forever: boolean): number {
  if (typeof value === 'number') return inRange(value, field, forever, String(value));
  if (typeof value !== 'string')
    throw new ValidationError(field, `must be ${shapes}${forever ? " or 'forever'" : ''}, got ${typeof value}`);
  const text = value.trim().toLowerCase();
  if (forever && (text === 'forever' || text === 'infinity')) return Infinity;
  // Digits past what a double holds read as Infinity: a mistake, never 'forever'.
  if (digitsOnly.test(text)) return inRange(Number(text), field, false, value);
  let ms = 0;
  let end = 0;
  part.lastIndex = 0;
  for (let match = part.exec(text); match !== null; match = part.exec(text)) {
    const unit = unitMs[match[2] as string];
    if (unit === undefined) break;
    ms += Number(match[1]) * unit;
    end = part.lastIndex;
  }
  if (end === 0 || end !== text.length) {
    throw new ValidationError(
      field,
      `${JSON.stringify(value)} is not a duration: use ${shapes}${forever ? ", or 'forever'" : ''}`,
    );
  }
  return inRange(ms, field, false, value);
}

/** `infinite`: Infinity itself is allowed (given as the number, by a caller that allows forever). */
function inRange(ms: number, field: string, infinite: boolean, given: string): number {
  if (infinite && ms === Infinity) return Infinity;
  if (Number.isNaN(ms) || ms < 0) throw new ValidationError(field, `must be a duration ≥ 0, got ${given}`);
  // A 400-digit string is Infinity as a Number: the same answer as the number itself.
  if (ms > maxDurationMs) {
    throw new ValidationError(
      field,
      `must not exceed 100 years, ${maxDurationMs} ms${infinite ? " or 'forever'" : ''}, got ${given.length > 40 ? `${given.slice(0, 40)}…` : given}`,
    );
  }
  // Whole milliseconds, as every store counts time: a fraction (a back-off function's 1000 * 1.5 **
  // attempt, '2.5ms') made a Redis job's place in line unreadable, so the lease dropped the job, and
  // failed a PostgreSQL nack ('invalid input syntax for type integer').
  return Math.round(ms);
}
