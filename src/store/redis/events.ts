// Change notification across processes: every script publishes what it did as one message on
// the store's channel; each store listens on a second connection and hands the events to its
// watchers, so a lease blocked in any process wakes within a round trip of an add.
import type { Cluster, Redis } from 'ioredis';
import type { JobEnd, SleeperEvent } from '../contract.ts';

const ends: ReadonlySet<string> = new Set<JobEnd>(['completed', 'dead', 'removed', 'expired']);

/** An ended line's fourth field, when it has one: '' no result, else '+' and the result's bytes. */
function resultOf(field: string): Uint8Array | null {
  return field === '' ? null : Buffer.from(field.slice(1), 'utf8');
}

export function parseEvents(message: string): SleeperEvent[] {
  const events: SleeperEvent[] = [];
  for (const line of message.split('\n')) {
    const fields = line.split('\t');
    const [kind = '', queue = '', third = '', origin = '', named] = fields;
    if (kind === 'ready') {
      const wake = third === '' ? undefined : Number(third);
      // '=' then the sleepers to wake, comma-separated; nothing after it names none.
      const sleepers = named?.startsWith('=')
        ? named
            .slice(1)
            .split(',')
            .filter((id) => id !== '')
        : undefined;
      events.push({
        kind: 'ready',
        queue,
        ...(wake !== undefined && { wake }),
        ...(origin !== '' && { origin }),
        ...(sleepers !== undefined && { sleepers }),
      });
    } else if (kind === 'due') {
      events.push({ kind: 'due', queue, at: Number(third) });
    } else if (ends.has(kind)) {
      // A completed job not kept carries its result as a fourth field: '' none, else '+' and the bytes.
      const result = kind === 'completed' && fields.length > 3 ? resultOf(origin) : undefined;
      events.push({
        kind: 'ended',
        queue,
        id: third,
        end: kind as JobEnd,
        ...(result !== undefined && { result }),
      });
    }
  }
  return events;
}

export class Subscriber {
  private constructor(private readonly client: Redis | Cluster) {}

  /**
   * Listens on `channel`. Messages published while the connection was down are lost, so after
   * each reconnect `onReconnect` runs: the store then tells its watchers they may have missed some.
   */
  static async start(
    client: Redis | Cluster,
    channel: string,
    onEvent: (event: SleeperEvent) => void,
    onReconnect: () => void,
  ): Promise<Subscriber> {
    client.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      for (const event of parseEvents(message)) onEvent(event);
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.subscribe(channel);
    } catch (error) {
      // Left connected, ioredis would reconnect for ever a connection nobody subscribes on.
      client.disconnect();
      throw error;
    }
    client.on('ready', () => {
      // Subscribed again before the wake-up, so an add right after it is not missed either.
      client.subscribe(channel).then(onReconnect, () => {});
    });
    return new Subscriber(client);
  }

  async stop(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
