// The store's SQL: one statement a file in sql/, each headed by a comment naming its `$n`
// parameters (values are always bound, never spliced), and the versioned migrations in
// sql/migrations/. Shipped beside the compiled modules (scripts/build.mjs copies them). The files
// name the schema `spool.`; a store on another schema reads them with that name in its place.
import { readdirSync, readFileSync } from 'node:fs';

const folder = new URL('./sql/', import.meta.url);
const migrationFolder = new URL('./sql/migrations/', import.meta.url);

export const statementNames = [
  'ack',
  'add',
  'analyze',
  'configure',
  'counts',
  'extend',
  'job-queues',
  'job-by-key',
  'jobs',
  'hold',
  'know',
  'lease',
  'list-active',
  'list-delayed',
  'list-finished',
  'list-waiting',
  'meta-get',
  'meta-init',
  'meta-list',
  'meta-set',
  'nack',
  'prune',
  'purge',
  'queues',
  'remove',
  'requeue',
  'settings',
  'settings-lock',
  'settle',
  'sweep-watches',
  'table-rows',
  'told',
  'upkeep-lock',
  'upkeep-unlock',
  'unwatch',
  'vacuum',
  'watch',
] as const;

export type StatementName = (typeof statementNames)[number];

/** `"name"`: an identifier quoted for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The SQL text with the schema `spool.` renamed. */
export function inSchema(sql: string, schema: string): string {
  return schema === 'spool' ? sql : sql.replace(/\bspool\./g, `${quoteIdent(schema)}.`);
}

export function loadStatements(schema: string): Record<StatementName, string> {
  const out = {} as Record<StatementName, string>;
  for (const name of statementNames) out[name] = inSchema(readFileSync(new URL(`${name}.sql`, folder), 'utf8'), schema);
  return out;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The migrations in version order, for `schema`. */
export function migrations(schema: string): Migration[] {
  return readdirSync(migrationFolder)
    .filter((name) => /^\d+-.*\.sql$/.test(name))
    .map((name) => ({
      version: Number.parseInt(name, 10),
      name,
      sql: inSchema(readFileSync(new URL(name, migrationFolder), 'utf8'), schema),
    }))
    .sort((a, b) => a.version - b.version);
}
