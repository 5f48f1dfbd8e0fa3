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
 * Writes the announcement of `id` of `kind` as renewed at `now`, by the store's reader's clock;
 * `null` withdraws it.
 */
export function post(store: Store, now: number, kind: string, id: string, info: unknown): Promise<void> {
  const value = info === null ? null : JSON.stringify({ info, seenAt: now });
  return store.setMeta({ now, entries: { [prefixOf(kind) + id]: value } });
}

/**
 * Where an announcement is posted: straight into the store (`storeBoard`), or through a server
 * that posts it there for a process without a store of its own (spool/client's workers).
 */
export interface Board {
  post(info: unknown): Promise<void>;
  withdraw(): Promise<void>;
}

/** The board of `id` of `kind` in `store`. */
export const storeBoard = (store: Store, clock: Clock, kind: string, id: string): Board => ({
  post: (info) => post(store, clock.now(), kind, id, info),
  withdraw: () => post(store, clock.now(), kind, id, null),
});

/**
 * The announcement of one process: `info()` is posted at `start` and again every `renewMs`
 * until `stop`, which withdraws it. A failed renewal is left to the next one: presence is a
 * hint, and the process's own store calls report the same failure.
 */
export class Announcement {
  #cancel: (() => void) | null = null;
  /** The post on its way: `stop` waits for it, so that no late renewal brings the document back. */
  #posting: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    private readonly board: Board,
    private readonly info: () => unknown,
  ) {}

  /**
   * Starts renewing and posts the first announcement. Its failure is the caller's to report; the
   * renewals go on regardless (a worker started while its server or store is down beats once they
   * are back), until `stop`.
   */
  async start(): Promise<void> {
    if (this.#cancel !== null) return;
    this.#schedule();
    await this.#post();
  }

  /** Stops renewing and withdraws the announcement. */
  async stop(): Promise<void> {
    this.#cancel?.();
    this.#cancel = null;
    await this.#posting.catch(() => {});
    await this.board.withdraw();
  }

  #post(): Promise<void> {
    this.#posting = this.board.post(this.info());
    return this.#posting;
  }

  #schedule(): void {
    this.#cancel = this.clock.setTimer(renewMs, () => {
      this.#post().catch(() => {});
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
