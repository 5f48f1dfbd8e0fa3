export { LevelStore } from './level-store.ts';
export type { LevelDurability, LevelStoreOptions } from './level-store.ts';
