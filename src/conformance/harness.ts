// What every area of the conformance suite declares its cases with: a fresh store and Spool per
// case on a manual clock. A case the store's declared capabilities rule out is not declared at
// all (it is no test of this store, and a skipped count would read as a gap); the run names them
// once. A case on the caller's skip list is skipped with its reason. Nothing else: the suite
// never guesses what a store can do.
import { describe, it } from 'node:test';
import { ManualClock, Spool } from '../index.ts';
import type { Store } from '../index.ts';
import type { Capabilities } from '../store/contract.ts';

/** A new, empty store. */
export type StoreFactory = () => Store | Promise<Store>;

/**
 * One of the caller's own transactions on a store's database, as `AddParams.tx` takes it: what
 * the `transaction` option of runConformance opens for the `transactions` cases.
 */
export interface OpenTransaction {
  /** What the store's `add` and `ack` take as `tx`: the driver's client or transaction object. */
  readonly tx: unknown;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** A Spool and its store, on the case's clock. */
export interface Handle {
  readonly spool: Spool;
  /** The store under the spool, for the contract calls core makes without a public wrapper. */
  readonly store: Store;
}

export interface Env extends Handle {
  readonly clock: ManualClock;
  /**
   * A second Spool on another handle of the same data, as another process would open it, on the
   * same clock; closed with the case. Only in cases that need `capabilities.events` 'shared'.
   */
  readonly peer: () => Promise<Handle>;
  /** Opens a transaction on the store's database; one left open is rolled back with the case. */
  readonly begin: () => Promise<OpenTransaction>;
  /**
   * Closes the case's Spool and store and opens the same data again, as a restarted process
   * would, on the same clock. Only in cases that need `outlives`.
   */
  readonly reopen: () => Promise<Handle>;
}

/** Why a store with these capabilities cannot run a case, or null when it can. */
export type Requirement = (capabilities: Capabilities) => string | null;

export const needs = {
  noTransactions: (c) =>
    c.transactions ? 'capabilities.transactions is true: the transactions area checks what a tx does' : null,
  transactions: (c) =>
    c.transactions ? null : 'capabilities.transactions is false: the store cannot join a caller’s transaction',
  shared: (c) =>
    c.events === 'shared' ? null : "capabilities.events is 'process': no other process can open this store",
  replicas: (c) => (c.maxReplicas > 0 ? null : 'capabilities.maxReplicas is 0: the store keeps one copy of a job'),
  outlives: (c) =>
    c.durable !== 'none' || c.events === 'shared'
      ? null
      : "capabilities.durable is 'none' and its events 'process': nothing outlives the store's handle",
  boundedReplicas: (c) =>
    Number.isFinite(c.maxReplicas) ? null : 'capabilities.maxReplicas is unbounded: no copy count is over it',
} satisfies Record<string, Requirement>;

export interface Suite {
  readonly makeStore: StoreFactory;
  readonly openPeer: ((store: Store) => Promise<Store>) | undefined;
  readonly transaction: ((store: Store) => Promise<OpenTransaction>) | undefined;
  readonly reopen: ((store: Store) => Promise<Store>) | undefined;
  /** Case or area name → why it is skipped. */
  readonly skips: ReadonlyMap<string, string>;
  /** The skip entries some case or area matched: the rest name nothing and fail the run. */
  readonly matched: Set<string>;
  /** Every case name so far: skips name cases, so two cases may not share one. */
  readonly names: Set<string>;
  /** The area being declared. */
  area: string;
  /** What the store declares, read from one store before any case is declared. */
  capabilities: Capabilities | null;
  /** Cases its capabilities rule out, with why: named once at the end of the run. */
  readonly ruledOut: string[];
}

/** Declares one area: its cases, under a describe of its name, which the skip list may name. */
export function area(suite: Suite, name: string, cases: () => void): void {
  // node:test may run a describe's body after its caller returns: the area is set inside it.
  void describe(name, () => {
    suite.area = name;
    cases();
  });
}

/**
 * Longest one case's body may take: a case that waits for ever (for an event that never comes)
 * fails under its own name, and its stores are still closed, instead of holding the whole run.
 */
const caseTimeoutMs = 120_000;
/** How long a case's stores may take to close after it. */
const cleanupTimeoutMs = 30_000;

/** `work`, or a rejection once `ms` have passed (real time: a case's clock is a manual one). */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a case's body, then its cleanup (closing its spools), each within its time. The cleanup is
 * bounded too: a handler that a failed case left waiting holds its spool's close for ever (a close
 * waits for running handlers), and the whole run with it. Past its time, `abandon` closes what
 * is under the spools (their stores: a store's connections would keep the process alive). After
 * a failed body, its error is the one that stands.
 */
export async function runCase(
  name: string,
  body: () => Promise<void>,
  cleanup: () => Promise<void>,
  abandon: () => Promise<void>,
  limits: { readonly bodyMs: number; readonly cleanupMs: number } = {
    bodyMs: caseTimeoutMs,
    cleanupMs: cleanupTimeoutMs,
  },
): Promise<void> {
  let failed = false;
  try {
    await within(body(), limits.bodyMs, `the case '${name}'`);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    const closed = within(cleanup(), limits.cleanupMs, `closing the stores of the case '${name}'`).catch(
      async (error: unknown) => {
        await abandon();
        throw error;
      },
    );
    await (failed ? closed.catch(() => {}) : closed);
  }
}

/** Declares one case: not at all when the store lacks what `needs` asks, skipped when listed, run otherwise. */
export function conformanceTest(
  suite: Suite,
  name: string,
  body: (env: Env) => Promise<void>,
  options: { readonly needs?: Requirement } = {},
): void {
  if (suite.names.has(name)) throw new Error(`two conformance cases are named '${name}'`);
  suite.names.add(name);
  const listed = [name, suite.area].find((key) => suite.skips.has(key));
  if (listed !== undefined) suite.matched.add(listed);
  const missing = suite.capabilities === null ? null : (options.needs?.(suite.capabilities) ?? null);
  if (missing !== null) {
    suite.ruledOut.push(`${name}: ${missing}`);
    return;
  }
  const skip = listed === undefined ? {} : { skip: suite.skips.get(listed) as string };
  void it(name, skip, async () => {
    const clock = new ManualClock();
    const store = await suite.makeStore();
    const opened: Handle[] = [];
    const connect = async (s: Store): Promise<Handle> => {
      const spool = await Spool.create(s, { clock, random: () => 0.5 }).catch(async (error: unknown) => {
        await s.close();
        throw error;
      });
      opened.push({ spool, store: s });
      return { spool, store: s };
    };
    const peer = async (): Promise<Handle> => {
      if (suite.openPeer === undefined) throw new Error('this case needs the openPeer option of runConformance');
      return connect(await suite.openPeer(store));
    };
    const open = new Set<OpenTransaction>();
    const begin = async (): Promise<OpenTransaction> => {
      if (suite.transaction === undefined) throw new Error('this case needs the transaction option of runConformance');
      const made = await suite.transaction(store);
      const transaction: OpenTransaction = {
        tx: made.tx,
        commit: () => {
          open.delete(transaction);
          return made.commit();
        },
        rollback: () => {
          open.delete(transaction);
          return made.rollback();
        },
      };
      open.add(transaction);
      return transaction;
    };
    const first = await connect(store);
    const reopen = async (): Promise<Handle> => {
      if (suite.reopen === undefined) throw new Error('this case needs the reopen option of runConformance');
      opened.splice(opened.indexOf(first), 1);
      await first.spool.close();
      return connect(await suite.reopen(store));
    };
    await runCase(
      name,
      () => body({ ...first, clock, peer, begin, reopen }),
      async () => {
        // A case that failed midway may leave a transaction holding locks the close would wait on.
        for (const transaction of open) await transaction.rollback();
        // The peers first: they were opened on the first store's data.
        for (const handle of opened.reverse()) await handle.spool.close();
      },
      async () => {
        for (const handle of opened) await handle.store.close().catch(() => {});
      },
    );
  });
}

/** Lets pending promise callbacks run (no timers involved). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Waits, a turn of the event loop at a time, until `condition` holds (real I/O may be involved). */
export async function until(condition: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Holds back the lease calls `store` gets from now on (its sleepers' too: a blocked lease goes
 * through them) until the returned function is called: a blocked lease woken by an add then
 * looks again only after what the case does meanwhile.
 */
export function gateLeases(store: Store): () => void {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const lease = store.lease.bind(store);
  store.lease = async (params) => {
    await gate;
    return lease(params);
  };
  const sleepers = store.sleepers;
  if (sleepers !== undefined) {
    const sleeperLease = sleepers.lease.bind(sleepers);
    sleepers.lease = async (params) => {
      await gate;
      return sleeperLease(params);
    };
  }
  return open;
}
