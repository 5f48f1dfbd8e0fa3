// The installed version of a peer package, printed beside its figures.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
