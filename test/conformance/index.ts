// The conformance suite: every backend runs it unchanged, as a function of a store factory.
// A backend's test file is a few lines: `runConformance({ makeStore, skips })`.
import { basics } from './basics.ts';
import { blocking } from './blocking.ts';
import type { Skip, StoreFactory } from './harness.ts';
import { ordering } from './ordering.ts';
import { settings } from './settings.ts';
import { time } from './time.ts';
import { tokens } from './tokens.ts';
import { topics } from './topics.ts';
import { worker } from './worker.ts';

export type { Skip, StoreFactory } from './harness.ts';

export function runConformance(options: { makeStore: StoreFactory; skips?: readonly Skip[] }): void {
  const suite = { makeStore: options.makeStore, skips: options.skips ?? [] };
  basics(suite);
  ordering(suite);
  time(suite);
  blocking(suite);
  worker(suite);
  topics(suite);
  tokens(suite);
  settings(suite);
}
