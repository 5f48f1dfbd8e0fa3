export { SqliteStore } from './sqlite-store.ts';
export type { SqliteStoreOptions, Synchronous } from './sqlite-store.ts';
