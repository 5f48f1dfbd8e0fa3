export { SqliteStore } from './sqlite-store.ts';
export type { SqliteDriver, SqliteStoreOptions, Synchronous } from './sqlite-store.ts';
