// The one file that names backends: a connection string picks one, loaded with import() so
// that `import 'spool'` loads no driver it does not use.
import { UnknownStoreError } from './errors.ts';
import { Spool } from './core/spool.ts';
import type { SpoolOptions } from './core/spool.ts';
import type { Store } from './store/contract.ts';

export const defaultUrl = 'memory:';

async function storeFor(url: string): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { MemoryStore } = await import('./store/memory/index.ts');
      return new MemoryStore();
    }
    default:
      throw new UnknownStoreError(url);
  }
}

/** Opens a Spool on the store `url` names: `memory:` (more stores arrive with their issues). */
export async function open(url: string = defaultUrl, options: SpoolOptions = {}): Promise<Spool> {
  return Spool.create(await storeFor(url), options);
}
