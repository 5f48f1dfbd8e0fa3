// What one child process measures: a system, set up one way. The parent builds these, the child opens them.
import type { PostgresTarget } from './postgres.ts';
import type { Durability, Subject } from './scenarios.ts';

export type Target =
  /** `prefetch`: the worker's (ProcessOptions.prefetch). */
  | { system: 'spool'; store: string; prefetch: number }
  | { system: 'bullmq' | 'bee-queue'; redis: RedisTarget }
  | { system: 'plainjob'; synchronous: 'FULL' | 'NORMAL'; pollMs: number }
  | { system: PostgresPeer; postgres: PostgresTarget };

/** A private redis-server the parent started; `durable` follows from its persistence settings. */
export interface RedisTarget {
  port: number;
  durable: Durability;
}

export const peerNames = ['bullmq', 'bee-queue', 'plainjob', 'pg-boss', 'graphile-worker'] as const;
export type PeerName = (typeof peerNames)[number];
export const postgresPeers = ['pg-boss', 'graphile-worker'] as const;
export type PostgresPeer = (typeof postgresPeers)[number];
export const isPostgresPeer = (name: string): name is PostgresPeer =>
  (postgresPeers as readonly string[]).includes(name);

/** Each system's module is imported only when it is measured, so spool's own run loads no peer. */
export async function openSubject(target: Target, queue: string): Promise<Subject> {
  switch (target.system) {
    case 'spool':
      return (await import('./spool.ts')).openSpool(target.store, queue, target.prefetch);
    case 'bullmq':
      return (await import('./peers/bullmq.ts')).openBullmq(target.redis, queue);
    case 'bee-queue':
      return (await import('./peers/bee-queue.ts')).openBeeQueue(target.redis, queue);
    case 'plainjob':
      return (await import('./peers/plainjob.ts')).openPlainjob(target.synchronous, target.pollMs);
    case 'pg-boss':
      return (await import('./peers/pg-boss.ts')).openPgBoss(target.postgres, queue);
    case 'graphile-worker':
      return (await import('./peers/graphile-worker.ts')).openGraphileWorker(target.postgres, queue);
  }
}
