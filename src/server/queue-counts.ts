// The queues a server reports on (GET /metrics; Disque's QSCAN, JSCAN and INFO): every queue the
// store lists, and those the server saw used before the store listed them (a lease of a queue
// nothing was ever added to).
import type { Counts, Spool } from '../index.ts';

export interface QueueCounts {
  readonly name: string;
  readonly counts: Counts;
}

/** Every queue `spool.queues()` lists and each of `seen` it does not, sorted by name, with their counts. */
export async function queueCounts(spool: Spool, seen: Iterable<string>): Promise<QueueCounts[]> {
  const listed: QueueCounts[] = await spool.queues();
  const names = new Set(listed.map((q) => q.name));
  const others = [...seen].filter((name) => !names.has(name));
  const counts = await Promise.all(others.map((name) => spool.queue(name).counts()));
  return [...listed, ...others.map((name, i) => ({ name, counts: counts[i] as Counts }))].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}
