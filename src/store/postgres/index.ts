// `spool/postgres`: the PostgreSQL store. Needs the optional peer dependency pg.
export { PostgresStore } from './postgres-store.ts';
export type { PostgresStoreOptions } from './postgres-store.ts';
