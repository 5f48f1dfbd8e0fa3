// What the SQLite store uses of its driver: the part better-sqlite3 and libsql (the driver of
// libSQL, Turso's fork of SQLite, whose API follows better-sqlite3's) agree on. Rows are read
// raw, as arrays in the order of the SELECT: libsql ignores `pluck` and adds a `_metadata`
// field to row objects, and hands blobs of row objects over as ArrayBuffers.

export interface Statement {
  /** Whether it returns rows (better-sqlite3; libsql has no such field). */
  readonly reader?: boolean;
  /** `changes`: the rows the statement wrote. */
  run(...params: unknown[]): { readonly changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  raw(toggle?: boolean): Statement;
}

export interface Connection {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
  close(): unknown;
}

/** A statement whose rows, if it returns any, come back as arrays of column values. */
export function rawStatement(db: Connection, sql: string): Statement {
  const statement = db.prepare(sql);
  // better-sqlite3 refuses raw() on a statement that returns nothing.
  return statement.reader === false ? statement : statement.raw(true);
}

/** The first column of the first row, or undefined when there is no row. */
export function scalar(statement: Statement, ...params: unknown[]): unknown {
  return (statement.get(...params) as unknown[] | undefined)?.[0];
}

/** A BLOB column's value as bytes, whichever form the driver gives it. */
export function blob(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return value instanceof ArrayBuffer ? new Uint8Array(value) : (value as Uint8Array);
}

/** A Uint8Array as the Buffer both drivers bind as a BLOB, without a copy. */
export function bytes(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
