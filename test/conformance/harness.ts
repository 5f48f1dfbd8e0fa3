import { test } from 'node:test';
import { ManualClock, Spool } from '../../src/index.ts';
import type { Store } from '../../src/index.ts';

export type StoreFactory = () => Promise<Store>;

/** A test this backend does not run, and why. CI fails on a skip that is not listed. */
export interface Skip {
  readonly test: string;
  readonly reason: string;
}

export interface Env {
  readonly spool: Spool;
  readonly clock: ManualClock;
  /** The store under the spool, for the contract calls core makes without a public wrapper. */
  readonly store: Store;
}

export interface Suite {
  readonly makeStore: StoreFactory;
  readonly skips: readonly Skip[];
}

/** Declares one conformance case: a fresh store and Spool on a manual clock, closed afterwards. */
export function conformanceTest(suite: Suite, name: string, body: (env: Env) => Promise<void>): void {
  const skip = suite.skips.find((s) => s.test === name);
  void test(name, skip === undefined ? {} : { skip: skip.reason }, async () => {
    const clock = new ManualClock();
    const store = await suite.makeStore();
    const spool = await Spool.create(store, { clock, random: () => 0.5 });
    try {
      await body({ spool, clock, store });
    } finally {
      await spool.close();
    }
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
