// What one node saw of each queue: Disque's QSTAT reports these per node (age, idle, blocked
// clients, jobs in and out), not per cluster, so they live in the server, not in the store.
import type { Clock } from '../../index.ts';

interface Activity {
  /** When this node first saw the queue named, in ms. */
  readonly since: number;
  /** When a job last went in or out through this node, or the queue was named, in ms. */
  touchedAt: number;
  blocked: number;
  jobsIn: number;
  jobsOut: number;
}

export interface QueueStat {
  /** Seconds since this node first saw the queue. */
  readonly ageS: number;
  /** Seconds since the last job went in or out through this node. */
  readonly idleS: number;
  readonly blocked: number;
  readonly jobsIn: number;
  readonly jobsOut: number;
}

export class QueueActivity {
  readonly #queues = new Map<string, Activity>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #of(queue: string, now: number): Activity {
    let activity = this.#queues.get(queue);
    if (activity === undefined) {
      activity = { since: now, touchedAt: now, blocked: 0, jobsIn: 0, jobsOut: 0 };
      this.#queues.set(queue, activity);
    }
    return activity;
  }

  /** The queue was named by a command (ADDJOB, GETJOB, PAUSE): QSTAT and QSCAN know it from now on. */
  seen(queue: string): void {
    this.#of(queue, this.#clock.now());
  }

  has(queue: string): boolean {
    return this.#queues.has(queue);
  }

  /** Queues this node has seen named, in the order it saw them. */
  names(): IterableIterator<string> {
    return this.#queues.keys();
  }

  added(queue: string, count: number): void {
    const now = this.#clock.now();
    const activity = this.#of(queue, now);
    activity.jobsIn += count;
    activity.touchedAt = now;
  }

  delivered(queue: string, count: number): void {
    const now = this.#clock.now();
    const activity = this.#of(queue, now);
    activity.jobsOut += count;
    activity.touchedAt = now;
  }

  /** A GETJOB blocks on `queues` until the returned function is called. */
  block(queues: readonly string[]): () => void {
    const now = this.#clock.now();
    const blocked = queues.map((queue) => this.#of(queue, now));
    for (const activity of blocked) activity.blocked++;
    return () => {
      for (const activity of blocked) activity.blocked--;
    };
  }

  stat(queue: string): QueueStat {
    const now = this.#clock.now();
    const a = this.#of(queue, now);
    const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));
    return {
      ageS: seconds(now - a.since),
      idleS: seconds(now - a.touchedAt),
      blocked: a.blocked,
      jobsIn: a.jobsIn,
      jobsOut: a.jobsOut,
    };
  }
}
