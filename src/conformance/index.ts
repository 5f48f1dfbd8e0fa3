// `spool/conformance`: the suite every store runs unchanged, as a function of a store factory.
// A backend's test file is a few lines: `runConformance({ name, makeStore, skips })`, run by
// node's test runner (`node --test`), whose describe/it it declares its cases with.
import { describe, it } from 'node:test';
import type { Store } from '../index.ts';
import { basics } from './basics.ts';
import { blocking } from './blocking.ts';
import type { OpenTransaction, StoreFactory, Suite } from './harness.ts';
import { ordering } from './ordering.ts';
import { processes } from './processes.ts';
import { promote } from './promote.ts';
import { replication } from './replication.ts';
import { settings } from './settings.ts';
import { time } from './time.ts';
import { tokens } from './tokens.ts';
import { transactions } from './transactions.ts';
import { topics } from './topics.ts';
import { worker } from './worker.ts';

export type { OpenTransaction, StoreFactory } from './harness.ts';

export interface ConformanceOptions {
  /** Names the run in the report: `spool conformance: <name>`. */
  readonly name: string;
  /** A new, empty store for each case; the suite closes it when the case ends. */
  readonly makeStore: StoreFactory;
  /**
   * Another handle on `store`'s data, as a second process would open it. The cases of the
   * `processes` area use it; they run only on a store whose `capabilities.events` is 'shared'.
   */
  readonly openPeer?: (store: Store) => Promise<Store>;
  /**
   * Opens one of the caller's own transactions on `store`'s database (a client after BEGIN, say),
   * with its commit and rollback. The cases of the `transactions` area use it; they run only on
   * a store whose `capabilities.transactions` is true.
   */
  readonly transaction?: (store: Store) => Promise<OpenTransaction>;
  /**
   * Opens the data of `store`, which the suite has closed, again, as a restarted process would:
   * another `FileStore.open` of its directory, a new client on its Redis keys. The cases that
   * check a change outlives a reopen use it; they run only on a store whose data outlives its
   * handle (`capabilities.durable` is not 'none', or its events are 'shared').
   */
  readonly reopen?: (store: Store) => Promise<Store>;
  /**
   * Cases (by name) or whole areas (by area name) this store does not run, each with the reason.
   * Cases the store's declared capabilities rule out are skipped without being listed; an entry
   * that names no case or area fails the run, so a list cannot outlive what it excuses.
   */
  readonly skips?: Readonly<Record<string, string>>;
}

/** The areas, in the order they run; each is also the name a skip entry gives to skip all of it. */
const areas = [
  basics,
  ordering,
  time,
  promote,
  blocking,
  worker,
  topics,
  tokens,
  settings,
  processes,
  replication,
  transactions,
];

export function runConformance(options: ConformanceOptions): void {
  const suite: Suite = {
    makeStore: options.makeStore,
    openPeer: options.openPeer,
    transaction: options.transaction,
    reopen: options.reopen,
    skips: new Map(Object.entries(options.skips ?? {})),
    matched: new Set(),
    names: new Set(),
    area: '',
    capabilities: null,
    ruledOut: [],
  };
  void describe(`spool conformance: ${options.name}`, async () => {
    const probe = await options.makeStore();
    suite.capabilities = probe.capabilities;
    await probe.close();
    for (const declare of areas) declare(suite);
    // Run last, once every area above has declared its cases and so matched its entries.
    void it('every skip entry names a case or an area of the suite', (t) => {
      const stale = [...suite.skips.keys()].filter((key) => !suite.matched.has(key));
      if (stale.length > 0)
        throw new Error(`skips names nothing in the suite: ${stale.map((s) => `'${s}'`).join(', ')}`);
      for (const line of suite.ruledOut) t.diagnostic(`not for this store: ${line}`);
    });
  });
}
