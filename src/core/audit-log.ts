// The audit log (issue 18): who changed what and when, kept in the store's meta documents
// (`audit/<time>-<random>`), so that every server sharing the store shows the same log and it
// survives a restart. It keeps the newest `keep` entries: each write deletes what falls off.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/contract.ts';
import type { Clock } from './clock.ts';

const prefix = 'audit/';
const keep = 1_000;

export interface AuditEntry {
  /** When, in ms since the epoch (the core's clock). */
  readonly at: number;
  /** Who did it, as the caller names them (a token's name, never the token). */
  readonly who: string;
  /** What was done, e.g. `POST /v1/queues/:queue/pause`. */
  readonly action: string;
  /** What it was done to (queue, job id …). */
  readonly target: Readonly<Record<string, string>>;
  /** More of what was asked (a request body), cut short by the caller; null for nothing. */
  readonly details: string | null;
  /** How it ended (an HTTP status). */
  readonly status: number;
  /** Done from the dashboard. */
  readonly ui: boolean;
}

export class AuditLog {
  /** Names of the entries, oldest first; loaded at the first write. */
  #names: string[] | null = null;
  /** Writes go one after another, so that trimming sees every name. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Appends an entry; resolves once it is in the store. */
  record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    const at = this.clock.now();
    const write = this.#writing.then(async () => {
      // Sortable by time across processes: the time first, at a fixed width.
      const name = `${prefix}${String(at).padStart(15, '0')}-${randomUUID().slice(0, 8)}`;
      const names = (this.#names ??= [...(await this.store.listMeta({ now: at, prefix }))]);
      names.push(name);
      const old = names.length > keep ? names.splice(0, names.length - keep) : [];
      await this.store.setMeta({
        now: at,
        entries: { [name]: JSON.stringify({ at, ...entry }), ...Object.fromEntries(old.map((n) => [n, null])) },
      });
    });
    this.#writing = write.catch(() => {});
    return write;
  }

  /** The newest `limit` entries, newest first. */
  async read(limit: number): Promise<AuditEntry[]> {
    await this.#writing;
    const now = this.clock.now();
    const names = (await this.store.listMeta({ now, prefix })).slice(-limit).reverse();
    const docs = await this.store.getMeta({ now, names });
    return docs.flatMap((doc) => (doc === null ? [] : [JSON.parse(doc) as AuditEntry]));
  }
}
