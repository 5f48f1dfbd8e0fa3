// Events between processes: every statement that changes something sends its events with
// pg_notify (spool.tell in sql/migrations/001-jobs.sql) inside its own transaction, so they fire
// at commit, and one LISTEN connection per store hears them. A dropped connection is made again;
// meanwhile nothing is heard, so after each reconnection the store tells its watchers they may
// have missed events (StoreEvent 'missed'): leases and waitFors look again.
import pg from 'pg';
import type { ClientConfig } from 'pg';
import type { JobEnd, StoreEvent } from '../contract.ts';
import { reconnectDelayMs } from '../reconnect.ts';
import { quoteIdent } from './statements.ts';

interface Wire {
  readonly kind: StoreEvent['kind'];
  readonly queue: string;
  readonly at?: number;
  readonly id?: string;
  readonly end?: JobEnd;
  readonly result?: string | null;
}

/** StoreEvents from a notification's (or a statement's) JSON array. */
export function decodeEvents(wire: unknown): StoreEvent[] {
  if (!Array.isArray(wire)) return [];
  return (wire as Wire[]).map((e): StoreEvent => {
    if (e.kind === 'ready') return { kind: 'ready', queue: e.queue };
    if (e.kind === 'due') return { kind: 'due', queue: e.queue, at: e.at as number };
    const base = { kind: 'ended', queue: e.queue, id: e.id as string, end: e.end as JobEnd } as const;
    if (e.result === undefined) return base;
    return { ...base, result: e.result === null ? null : Buffer.from(e.result, 'base64') };
  });
}

export class Listener {
  #client: pg.Client | null = null;
  #closed = false;
  /** Tries to connect again since the connection was last up. */
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Why the connection is down, or null while it listens. */
  down: string | null = 'not connected yet';
  /** How a notification of this store's own origin ends (spool.tell's JSON as jsonb prints it). */
  readonly #ownTail: string;

  constructor(
    private readonly config: ClientConfig,
    private readonly channel: string,
    /** This store's origin: its own events it has dispatched already. */
    private readonly origin: string,
    private readonly deliver: (events: readonly StoreEvent[]) => void,
    /** Called after the connection was made again: events may have been missed meanwhile. */
    private readonly reconnected: () => void,
  ) {
    this.#ownTail = `"o": ${JSON.stringify(origin)}}`;
  }

  /** Connects the first time; rejects when it cannot. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('error', () => this.#lost(client, 'the listening connection failed'));
    client.on('end', () => this.#lost(client, 'the listening connection ended'));
    client.on('notification', (message) => {
      if (message.payload === undefined) return;
      // This store's own events, dispatched already, are most of what it hears under load: told
      // apart without parsing them. jsonb writes its keys shortest first, so `o` ends the text.
      if (message.payload.endsWith(this.#ownTail)) return;
      let parsed: { o?: string; e?: unknown };
      try {
        parsed = JSON.parse(message.payload) as { o?: string; e?: unknown };
      } catch {
        return;
      }
      if (parsed.o === this.origin) return;
      this.deliver(decodeEvents(parsed.e));
    });
    await client.connect();
    await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.down = null;
    this.#failures = 0;
  }

  #lost(client: pg.Client, reason: string): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.down = reason;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.#retry();
  }

  #retry(): void {
    if (this.#closed || this.#timer !== null) return;
    // As Redis's (reconnect.ts): waits that grew to 1 s here heard a server back that late, and
    // told the store's leases and waitFors to look again ('missed') only then.
    const ms = reconnectDelayMs(++this.#failures);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect().then(
        () => {
          if (!this.#closed) this.reconnected();
        },
        (error: unknown) => {
          this.down = `cannot listen: ${(error as Error).message}`;
          this.#retry();
        },
      );
    }, ms);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    if (client !== null) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
  }
}
