// Bound values for a batch statement, one element per job, made without pg's array encoding:
// pg writes an array through a call per element and a bytea element as escaped hex text, which
// took about 10 ms of the process's CPU for a 1,000-job add (issue 15), longer than the INSERT.

/** A PostgreSQL array literal of numbers (`{1,0.5,Infinity,NULL}`), for a `float8[]` or `integer[]`. */
export function numberArray(values: readonly (number | null)[]): string {
  // String() of a number is a valid float8 input, Infinity and 1e+21 included.
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

/** A PostgreSQL array literal of strings, each quoted, for a `text[]`. */
export function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

/**
 * Byte strings as one Buffer, which pg binds as binary (no encoding at either end), with where
 * each starts in it (1-based) and its length: the statement cuts them out with substring().
 */
export function packed(values: readonly Uint8Array[]): { bytes: Buffer; starts: string; lengths: string } {
  const starts: number[] = [];
  const lengths: number[] = [];
  let at = 1;
  for (const v of values) {
    starts.push(at);
    lengths.push(v.byteLength);
    at += v.byteLength;
  }
  return { bytes: Buffer.concat(values, at - 1), starts: numberArray(starts), lengths: numberArray(lengths) };
}
