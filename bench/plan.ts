// The rows of a run: spool on its store, then each peer in every set-up that peers.md asks for.
import type { ChildResult } from './child.ts';
import { graphileWorkerSetup, pgBossSetup } from './peers/settings.ts';
import { postgresLabel } from './postgres.ts';
import type { PostgresInfo } from './postgres.ts';
import type { RedisPersistence } from './redis-server.ts';
import { scenarioIds } from './scenarios.ts';
import type { ScenarioId } from './scenarios.ts';
import { isPostgresPeer } from './targets.ts';
import type { PeerName, PostgresPeer } from './targets.ts';

export type RowSetup =
  | { system: 'spool'; store: string; persistence?: RedisPersistence; prefetch?: number }
  | { system: 'bullmq' | 'bee-queue'; persistence: RedisPersistence }
  | { system: 'plainjob'; synchronous: 'FULL' | 'NORMAL'; pollMs: number }
  // One member per peer, so that a check of `system` narrows to it.
  | { system: 'pg-boss' }
  | { system: 'graphile-worker' };

export interface Row {
  name: string;
  /** How the system was set up, in words, printed beside its name. */
  setup: string;
  spec: RowSetup;
  scenarios: readonly ScenarioId[];
}

/**
 * `serverBytesPerJob`: on a Redis-backed row's enqueue-bulk run, the server's `used_memory` growth over the
 * run divided by its jobs, which are all still waiting when the child exits (its connections closed).
 */
export type Outcome = ({ ok: true; serverBytesPerJob?: number } & ChildResult) | { ok: false; error: string };

export interface RowResult {
  row: Row;
  outcomes: Map<ScenarioId, Outcome>;
}

const plainjobDefaultPollMs = 1_000;
// plainjob polls; peers.md asks for its latency at the default and at a tuned interval.
const plainjobTunedPollMs = 10;

const persistenceLabel: Record<RedisPersistence, string> = {
  none: 'no persistence',
  always: 'AOF appendfsync always',
};

/** True when spool's store is one Redis server, which the bench then swaps for its private ones. */
export const isRedisStore = (store: string): boolean => /^rediss?:/i.test(store);

const postgresPeerRows: Record<PostgresPeer, { name: string; setup: string }> = {
  'pg-boss': { name: 'pg-boss', setup: pgBossSetup },
  'graphile-worker': { name: 'graphile-worker', setup: graphileWorkerSetup },
};

/**
 * spool's rows, one a store and worker `prefetch` (the first's ratios lead, see report.ts), then the
 * peers'. `postgres` describes the server of the Postgres-backed peers, named in their rows.
 */
export function planRows(
  stores: string | readonly string[],
  peers: readonly PeerName[],
  redisVersion: string | undefined,
  postgres?: PostgresInfo,
  prefetch: readonly number[] = [0],
): Row[] {
  const redis = `Redis ${redisVersion ?? '?'}`;
  // Beside the Redis-backed peers, spool on Redis runs on the same private servers, once per
  // persistence level, so that each ratio compares two systems on one server in one run.
  const besidePeers = peers.some((p) => p === 'bullmq' || p === 'bee-queue');
  const storeRows: Row[] = (typeof stores === 'string' ? [stores] : stores).flatMap((store): Row[] =>
    isRedisStore(store) && besidePeers
      ? (['none', 'always'] as const).map((persistence) => ({
          name: 'spool',
          setup: `${redis}, ${persistenceLabel[persistence]}`,
          spec: { system: 'spool', store, persistence },
          scenarios: scenarioIds,
        }))
      : [{ name: 'spool', setup: store, spec: { system: 'spool', store }, scenarios: scenarioIds }],
  );
  // A worker's prefetch is the counterpart of graphile-worker's local queue: set in the row, named in its setup.
  const rows = storeRows.flatMap((row) =>
    prefetch.map((n): Row => {
      if (n === 0 || row.spec.system !== 'spool') return row;
      return { ...row, setup: `${row.setup}; prefetch ${n}`, spec: { ...row.spec, prefetch: n } };
    }),
  );
  for (const peer of peers) {
    if (peer === 'plainjob') {
      for (const [pollMs, scenarios] of [
        [plainjobDefaultPollMs, scenarioIds],
        [plainjobTunedPollMs, ['latency'] as const],
      ] as const) {
        for (const synchronous of ['FULL', 'NORMAL'] as const) {
          const setup = `SQLite WAL synchronous=${synchronous}, poll ${pollMs} ms`;
          rows.push({ name: 'plainjob', setup, spec: { system: 'plainjob', synchronous, pollMs }, scenarios });
        }
      }
      continue;
    }
    if (isPostgresPeer(peer)) {
      const { name, setup } = postgresPeerRows[peer];
      const server = postgres ? postgresLabel(postgres) : 'PostgreSQL ?';
      rows.push({ name, setup: `${server}; ${setup}`, spec: { system: peer }, scenarios: scenarioIds });
      continue;
    }
    const name = peer === 'bullmq' ? 'BullMQ' : 'bee-queue';
    for (const persistence of ['none', 'always'] as const)
      rows.push({
        name,
        setup: `${redis}, ${persistenceLabel[persistence]}`,
        spec: { system: peer, persistence },
        scenarios: scenarioIds,
      });
  }
  return rows;
}
