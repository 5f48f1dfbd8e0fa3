// The schema as versioned .sql files in migrations/, shipped beside the compiled modules
// (scripts/build.mjs copies them): `NNN-name.sql` brings the database to version NNN, and
// `PRAGMA user_version` records the version a database is at.
import { readdirSync, readFileSync } from 'node:fs';
import { StorageError } from '../../errors.ts';
import { scalar } from './driver.ts';
import type { Connection } from './driver.ts';

const folder = new URL('./migrations/', import.meta.url);

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export function migrations(): Migration[] {
  return readdirSync(folder)
    .filter((name) => /^\d+-.*\.sql$/.test(name))
    .map((name) => ({ version: Number.parseInt(name, 10), sql: readFileSync(new URL(name, folder), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Brings the database up to the newest version, each step in the same write transaction as the
 * version check, so processes opening one new file at once apply each step once.
 */
export function migrate(db: Connection, path: string): void {
  const steps = migrations();
  const newest = steps.at(-1)?.version ?? 0;
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = scalar(db.prepare('PRAGMA user_version').raw(true)) as number;
    if (version > newest)
      throw new StorageError(
        `${path}: schema version ${version} is newer than this spool knows (${newest}); upgrade spool`,
      );
    for (const step of steps) {
      if (step.version <= version) continue;
      db.exec(step.sql);
      db.exec(`PRAGMA user_version = ${step.version}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
