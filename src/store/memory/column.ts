/**
 * One field of one page of jobs (issue 4: at most 64 bytes a queued job). Most fields hold the
 * same value in every row of a page (priority 0, attempts 0, no expiry, one queue, one profile),
 * so a column is one number until a row differs. Then it becomes the narrowest typed array its
 * values fit, each stored as an offset from a base with the type's largest value meaning NaN: times
 * a page's jobs were created in one minute take 2 bytes a row, payload positions in one segment 4.
 * A value that does not fit widens the array; a fraction or a huge number makes it a Float64Array.
 */
export type ColumnKind = 'uniform' | 'u8' | 'u16' | 'u32' | 'f64';

type Rows = Uint8Array | Uint16Array | Uint32Array | Float64Array;

const arrays = { u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f64: Float64Array } as const;
type ArrayKind = keyof typeof arrays;
/** The integer kinds, narrowest first, with the code each keeps for NaN: one past the largest value code. */
const narrow = [
  ['u8', 0xff],
  ['u16', 0xffff],
  ['u32', 0xffffffff],
] as const;

/** A column as a checkpoint keeps it: `value` is the uniform value, or the base of the codes. */
export interface ColumnImage {
  readonly kind: ColumnKind;
  readonly value: number;
  /** The rows' codes, little-endian; none for a uniform column. */
  readonly bytes: Uint8Array | null;
}

export const bytesPerRow: Readonly<Record<ColumnKind, number>> = { uniform: 0, u8: 1, u16: 2, u32: 4, f64: 8 };

/** Whether a value can be a code's offset from a base: -0 cannot (it would read back as 0). */
const integral = (v: number): boolean => Number.isSafeInteger(v) && !Object.is(v, -0);

export class Column {
  /** The value of every row while `#rows` is null, else the base the codes count from. */
  #value = 0;
  #rows: Rows | null = null;
  #kind: ArrayKind = 'f64';
  /** The code for NaN, or -1 in a Float64Array (which holds values as they are). */
  #nan = -1;
  /** No row set yet: the first value set becomes the uniform one. */
  #fresh = true;

  constructor(
    readonly length: number,
    from?: ColumnImage,
  ) {
    if (from === undefined) return;
    this.#fresh = false;
    this.#value = from.value;
    if (from.kind === 'uniform' || from.bytes === null) return;
    const rows = new arrays[from.kind](length);
    new Uint8Array(rows.buffer).set(from.bytes);
    this.#use(from.kind, rows, from.value);
  }

  get(row: number): number {
    const rows = this.#rows;
    if (rows === null) return this.#value;
    const code = rows[row] as number;
    if (this.#nan < 0) return code;
    return code === this.#nan ? Number.NaN : code + this.#value;
  }

  set(row: number, value: number): void {
    const rows = this.#rows;
    if (rows === null) {
      if (this.#fresh) {
        this.#fresh = false;
        this.#value = value;
      } else if (!Object.is(value, this.#value)) this.#widen(row, value);
      return;
    }
    if (this.#nan < 0) rows[row] = value;
    else if (value !== value) rows[row] = this.#nan;
    else {
      const code = value - this.#value;
      if (code >= 0 && code < this.#nan && integral(value)) rows[row] = code;
      else this.#widen(row, value);
    }
  }

  /** The value of every row while they all hold one, else null. */
  uniform(): number | null {
    return this.#rows === null ? this.#value : null;
  }

  image(): ColumnImage {
    const rows = this.#rows;
    if (rows === null) return { kind: 'uniform', value: this.#value, bytes: null };
    return {
      kind: this.#kind,
      value: this.#value,
      bytes: new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength),
    };
  }

  /**
   * Rebuilds the rows in the narrowest kind that holds them all with `value` at `row`. Only a
   * uniform column or one of integer codes gets here (a Float64Array takes any value), so the
   * range comes from the codes, and they move to the new base without decoding.
   */
  #widen(row: number, value: number): void {
    const rows = this.#rows;
    const old = this.#value;
    const oldNan = this.#nan;
    let min = Infinity;
    let max = -Infinity;
    if (rows === null) {
      if (old === old) min = max = old;
    } else {
      for (let i = 0; i < rows.length; i++) {
        const code = rows[i] as number;
        if (code === oldNan) continue;
        if (code < min) min = code;
        if (code > max) max = code;
      }
      min += old;
      max += old;
    }
    if (value === value) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    const integers = (rows !== null || old !== old || integral(old)) && (value !== value || integral(value));
    // Codes 0 … nan - 1 hold values: a range of nan - 1.
    const fit = integers ? narrow.find(([, nan]) => max - min < nan) : undefined;
    if (fit === undefined) {
      const values = new Float64Array(this.length);
      for (let i = 0; i < values.length; i++) values[i] = this.get(i);
      values[row] = value;
      this.#use('f64', values, 0);
      return;
    }
    const [kind, nan] = fit;
    // The room left goes the way the values went: times and log positions only grow, and
    // centring them would rebuild the page again every time the room ahead halved.
    const base = value === min && min < max ? max - (nan - 1) : min;
    const codes = new arrays[kind](this.length);
    if (rows === null) codes.fill(old !== old ? nan : old - base);
    else {
      const shift = old - base;
      for (let i = 0; i < codes.length; i++) {
        const code = rows[i] as number;
        codes[i] = code === oldNan ? nan : code + shift;
      }
    }
    codes[row] = value !== value ? nan : value - base;
    this.#use(kind, codes, base);
  }

  #use(kind: ArrayKind, rows: Rows, base: number): void {
    this.#kind = kind;
    this.#rows = rows;
    this.#value = base;
    this.#nan = narrow.find(([k]) => k === kind)?.[1] ?? -1;
  }
}
