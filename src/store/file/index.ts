export { FileStore } from './file-store.ts';
export type { Durability, FileStoreOptions, OpenReport } from './file-store.ts';
export { checkDataDir } from './check.ts';
export type { CheckOptions, CheckProblem, CheckReport } from './check.ts';
export { nodeIO } from './io.ts';
export type { FileIO } from './io.ts';
