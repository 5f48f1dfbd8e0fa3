// Who is alive on a store: processes that share a store announce themselves in its meta
// documents and renew the announcement on a timer; one that stops renewing (killed, cut off)
// is gone once its announcement is older than three renewals. The Disque server's pool of
// nodes (HELLO, CLUSTER NODES) is built on it.
import type { Runtime } from './runtime.ts';

/** A live announcement: what its process said of itself and when it last renewed it. */
export interface Presence<T = unknown> {
  readonly id: string;
  readonly info: T;
  /** When it was last renewed, in ms since the epoch, by the announcing process's clock. */
  readonly seenAt: number;
}

/** How often an announcement is renewed; it is taken for gone after three missed renewals. */
export const renewMs = 5_000;
const goneAfterMs = 3 * renewMs;

const prefixOf = (kind: string): string => `presence/${kind}/`;

/**
 * Writes `info` as `id` of `kind` now and every `renewMs` until the returned function is
 * called, which deletes it. Renewal failures are left to the next renewal: presence is a hint.
 */
export async function announce(
  runtime: Runtime,
  kind: string,
  id: string,
  info: unknown,
): Promise<() => Promise<void>> {
  const name = prefixOf(kind) + id;
  const write = () => {
    const now = runtime.clock.now();
    return runtime.store.setMeta({ now, entries: { [name]: JSON.stringify({ info, seenAt: now }) } });
  };
  await write();
  const timer = setInterval(() => void write().catch(() => {}), renewMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await runtime.store.setMeta({ now: runtime.clock.now(), entries: { [name]: null } });
  };
}

/** The live announcements of `kind`, sorted by id; stale ones are deleted on the way. */
export async function present<T>(runtime: Runtime, kind: string): Promise<Presence<T>[]> {
  const now = runtime.clock.now();
  const names = await runtime.store.listMeta({ now, prefix: prefixOf(kind) });
  const values = await runtime.store.getMeta({ now, names });
  const live: Presence<T>[] = [];
  const stale: Record<string, null> = {};
  names.forEach((name, i) => {
    const value = values[i];
    if (value === null || value === undefined) return;
    const { info, seenAt } = JSON.parse(value) as { info: T; seenAt: number };
    if (now - seenAt > goneAfterMs) stale[name] = null;
    else live.push({ id: name.slice(prefixOf(kind).length), info, seenAt });
  });
  if (Object.keys(stale).length > 0) await runtime.store.setMeta({ now, entries: stale });
  return live;
}
