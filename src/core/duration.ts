import { ValidationError } from '../errors.ts';

/** Milliseconds, or a string such as '250ms', '30s', '5m', '1h30m', '1d'. */
export type Duration = number | string;

const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Parses a duration once, at the edge; `field` names it in the error. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new ValidationError(field, `must be a finite duration ≥ 0, got ${value}`);
    return value;
  }
  if (typeof value !== 'string')
    throw new ValidationError(field, `must be milliseconds or a string like '5m', got ${typeof value}`);
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  if (!whole.test(text)) {
    throw new ValidationError(
      field,
      `"${value}" is not a duration: use a number of ms or units ms, s, m, h, d (e.g. '250ms', '1h30m')`,
    );
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(part)) ms += Number(amount) * (unitMs[unit as string] as number);
  return ms;
}
