// The bench's command line, checked once here: every later step trusts what this returns.
import { parseArgs } from 'node:util';
import { isPostgresStore } from './postgres.ts';
import { defaultScenarioIds, minPayloadBytes, scenarioIds } from './scenarios.ts';
import type { ScenarioId, Sizes } from './scenarios.ts';
import { isPostgresPeer, peerNames } from './targets.ts';
import type { PeerName } from './targets.ts';

export interface BenchOptions {
  stores: string[];
  /** spool's rows once for each worker prefetch (ProcessOptions.prefetch); [0] by default. */
  prefetch: number[];
  peers: PeerName[];
  /** The server of pg-boss and graphile-worker; undefined when neither runs. */
  peerDatabase: string | undefined;
  scenarios: readonly ScenarioId[];
  runs: number;
  sizes: Sizes;
  json: boolean;
}

/** The names of a comma-separated list, each checked, in the order given, without repeats. */
function parseList<T extends string>(list: string | undefined, known: readonly T[], what: string): T[] | undefined {
  if (list === undefined || list === '') return undefined;
  const names = list.split(',').map((s) => s.trim());
  for (const name of names)
    if (!(known as readonly string[]).includes(name))
      throw new Error(`unknown ${what} "${name}"; known ${what}s: ${known.join(', ')}`);
  return [...new Set(names)] as T[];
}

export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      // Several --store flags put several spool rows in the same tables (file, sqlite, leveldb side by side).
      store: { type: 'string', multiple: true, default: ['memory:'] },
      prefetch: { type: 'string', default: '0' },
      peers: { type: 'string' },
      pg: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      scenarios: { type: 'string' },
      'payload-bytes': { type: 'string', default: '100' },
      warmup: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, got "${values.runs}"`);
  const payloadBytes = Number(values['payload-bytes']);
  if (!Number.isInteger(payloadBytes) || payloadBytes < minPayloadBytes || payloadBytes > 1 << 20)
    throw new Error(
      `--payload-bytes must be a whole number from ${minPayloadBytes} to 1048576, got "${values['payload-bytes']}"`,
    );
  const warmup = Number(values.warmup ?? (values.quick ? 1_000 : 10_000));
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new Error(`--warmup must be a whole number ≥ 0, got "${values.warmup}"`);
  const prefetch = [...new Set(values.prefetch.split(',').map((s) => Number(s.trim())))];
  if (prefetch.some((n) => !Number.isInteger(n) || n < 0 || n > 1000))
    throw new Error(`--prefetch must be whole numbers from 0 to 1000, comma-separated, got "${values.prefetch}"`);
  // Rows follow the peers in the order given; scenarios always run in their own order.
  const peers = parseList(values.peers, peerNames, 'peer') ?? [];
  // pg-boss and graphile-worker share spool's server when spool runs on PostgreSQL, so one run compares them.
  const pg = values.pg ?? values.store.find(isPostgresStore);
  if (values.pg !== undefined && !isPostgresStore(values.pg))
    throw new Error(`--pg must be a postgres:// URL, got "${values.pg}"`);
  if (peers.some(isPostgresPeer) && pg === undefined)
    throw new Error('pg-boss and graphile-worker need a PostgreSQL: --store postgres://… or --pg postgres://…');
  const sizes: Sizes = values.quick
    ? {
        n: 2_000,
        latencySamples: 200,
        idleMs: 50,
        capMs: 60_000,
        payloadBytes,
        warmup,
        depth: { shallow: 2_000, deep: 20_000, leased: 500, capMs: 3_000 },
      }
    : {
        n: 50_000,
        latencySamples: 2_000,
        idleMs: 500,
        capMs: 60_000,
        payloadBytes,
        warmup,
        depth: { shallow: 2_000, deep: 500_000, leased: 1_000, capMs: 20_000 },
      };
  return {
    stores: values.store,
    prefetch,
    peers,
    peerDatabase: peers.some(isPostgresPeer) ? pg : undefined,
    scenarios: scenarioIds.filter((id) =>
      (parseList(values.scenarios, scenarioIds, 'scenario') ?? defaultScenarioIds).includes(id),
    ),
    runs,
    sizes,
    json: values.json,
  };
}
