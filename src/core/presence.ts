// Who is alive on a store: processes that share a store announce themselves in its meta
// documents (`presence/<kind>/<id>`) and renew the announcement on a timer; one that stops
// renewing (killed, cut off) is gone once its announcement is older than three renewals. The
// Disque server's pool of nodes (HELLO, CLUSTER NODES) and the workers' heartbeats (heartbeat.ts,
// the dashboard's Workers page) are both announcements.
import type { Store } from '../store/contract.ts';
import type { Clock } from './clock.ts';

/** An announcement as last renewed: what its process said of itself then, and when. */
export interface Presence<T = unknown> {
  readonly id: string;
  readonly info: T;
  /** When it was last renewed, in ms since the epoch, by the announcing process's clock. */
  readonly seenAt: number;
  /** Not renewed for three renewals: its process stopped without withdrawing it. */
  readonly gone: boolean;
}

/** How often an announcement is renewed; it is taken for gone after three missed renewals. */
export const renewMs = 5_000;
export const goneAfterMs = 3 * renewMs;

const prefixOf = (kind: string): string => `presence/${kind}/`;

/**
 * The announcement of one process as `id` of `kind`: `info()` is written at `start` and again
 * every `renewMs` until `stop`, which deletes it. A failed renewal is left to the next one:
 * presence is a hint, and the process's own store calls report the same failure.
 */
export class Announcement {
  readonly #name: string;
  #cancel: (() => void) | null = null;
  /** The write on its way: `stop` waits for it, so that no late renewal brings the document back. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    kind: string,
    id: string,
    private readonly info: () => unknown,
  ) {
    this.#name = prefixOf(kind) + id;
  }

  /** Writes the first announcement (its failure is the caller's) and starts renewing. */
  async start(): Promise<void> {
    if (this.#cancel !== null) return;
    await this.#write();
    this.#schedule();
  }

  /** Stops renewing and deletes the announcement. */
  async stop(): Promise<void> {
    this.#cancel?.();
    this.#cancel = null;
    await this.#writing.catch(() => {});
    await this.store.setMeta({ now: this.clock.now(), entries: { [this.#name]: null } });
  }

  #write(): Promise<void> {
    const now = this.clock.now();
    const value = JSON.stringify({ info: this.info(), seenAt: now });
    this.#writing = this.store.setMeta({ now, entries: { [this.#name]: value } });
    return this.#writing;
  }

  #schedule(): void {
    this.#cancel = this.clock.setTimer(renewMs, () => {
      this.#write().catch(() => {});
      this.#schedule();
    });
  }
}

/**
 * The announcements of `kind`, sorted by id, gone ones among them; those not renewed for
 * `forgetAfterMs` (by default: once gone) are deleted on the way and left out.
 */
export async function present<T>(
  store: Store,
  now: number,
  kind: string,
  forgetAfterMs = goneAfterMs,
): Promise<Presence<T>[]> {
  const prefix = prefixOf(kind);
  const names = await store.listMeta({ now, prefix });
  const values = await store.getMeta({ now, names });
  const kept: Presence<T>[] = [];
  const forgotten: Record<string, null> = {};
  names.forEach((name, i) => {
    const value = values[i];
    if (value === null || value === undefined) return;
    const { info, seenAt } = JSON.parse(value) as { info: T; seenAt: number };
    if (now - seenAt > forgetAfterMs) forgotten[name] = null;
    else kept.push({ id: name.slice(prefix.length), info, seenAt, gone: now - seenAt > goneAfterMs });
  });
  if (Object.keys(forgotten).length > 0) await store.setMeta({ now, entries: forgotten });
  return kept;
}
