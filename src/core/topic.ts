// Topics: fan-out built on one batched add. A topic's definition is the meta document
// `topic/<name>`; each subscriber is the queue `<topic>.<subscriber>`, and every job published
// to it carries the subscriber's options (attempts, visibility, back-off), so whoever consumes
// that queue — a lease, a worker, another process — honours them without reading the topic.
//
// Definitions are read before every publish instead of cached: with a shared store another
// process may add or remove subscribers at any time. Changes to a definition are a read and
// a write (the contract has no compare-and-set), so two processes editing one topic's
// subscribers at the same instant can lose one edit; publishing is never affected.
import { ExistsError, NotFoundError, ValidationError } from '../errors.ts';
import { formatToken } from '../store/contract.ts';
import type { Backoff, JobRecord, NewJob } from '../store/contract.ts';
import { jsonCodec } from './codec.ts';
import type { Duration } from './duration.ts';
import { checkKeys, jobSettings, newJob, queueConfig } from './options.ts';
import type { BackoffOptions } from './options.ts';
import { Queue } from './queue.ts';
import type { Runtime } from './runtime.ts';

export interface SubscriberOptions {
  /** Deliveries before a message goes dead; default 5 (the queue default). */
  maxAttempts?: number;
  /** How long a read message stays in flight before it is delivered again; default 30s. */
  visibility?: Duration;
  /** Wait after a failed delivery; default exponential from 1s. */
  backoff?: BackoffOptions;
}

export interface PublishOptions {
  delay?: Duration;
  priority?: number;
  ttl?: Duration;
  /** Idempotency key, per subscriber queue: a second publish with it adds nothing. */
  key?: string;
}

export interface SubscriberInfo {
  readonly name: string;
  /** The queue that holds its messages: lease or process it like any other queue. */
  readonly queue: string;
  readonly maxAttempts: number;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
}

export interface SubscriberStatus {
  readonly name: string;
  readonly queue: string;
  /** Not yet read: waiting or delayed (BlockQueue's unpublished_message). */
  readonly waiting: number;
  /** Read and not yet acked (BlockQueue's unacked_message). */
  readonly inFlight: number;
  readonly dead: number;
}

export interface TopicInfo {
  readonly name: string;
  readonly createdAt: number;
  readonly subscribers: readonly SubscriberInfo[];
}

interface StoredSubscriber {
  /** null stands for Infinity, which JSON cannot hold. */
  readonly maxAttempts: number | null;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
}

interface Definition {
  readonly createdAt: number;
  readonly subscribers: Readonly<Record<string, StoredSubscriber>>;
}

const namePattern = /^[A-Za-z0-9_:-]{1,99}$/;
const metaPrefix = 'topic/';
/** A subscriber's options start from a queue's defaults. */
const defaults = queueConfig('defaults', undefined).job;

/** Topic and subscriber names leave out '.', so `<topic>.<subscriber>` names one queue only. */
export function checkTopicName(name: unknown, field: string): string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new ValidationError(
      field,
      `must be 1-99 characters of letters, digits, '_', ':' or '-', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export async function listTopics(runtime: Runtime): Promise<string[]> {
  const names = await runtime.store.listMeta(metaPrefix);
  return names.map((n) => n.slice(metaPrefix.length));
}

/** A handle on one topic. Cheap: the definition lives in the store. */
export class Topic<T = unknown> {
  readonly name: string;
  readonly #meta: string;

  constructor(
    private readonly runtime: Runtime,
    name: string,
  ) {
    this.name = checkTopicName(name, 'topic');
    this.#meta = metaPrefix + name;
  }

  /** Creates the topic with these subscribers; ExistsError if it exists. */
  async create(subscribers: Readonly<Record<string, SubscriberOptions>> = {}): Promise<void> {
    const stored = this.#subscribersFrom(subscribers);
    if ((await this.#read()) !== null) throw new ExistsError(`topic ${this.name}`);
    await this.#write({ createdAt: this.runtime.clock.now(), subscribers: stored });
  }

  async exists(): Promise<boolean> {
    return (await this.#read()) !== null;
  }

  async info(): Promise<TopicInfo> {
    const definition = await this.#definition();
    return {
      name: this.name,
      createdAt: definition.createdAt,
      subscribers: Object.entries(definition.subscribers).map(([name, s]) => this.#subscriberInfo(name, s)),
    };
  }

  /** Adds subscribers, or changes the options of ones that exist; they see messages published from now on. */
  async addSubscribers(subscribers: Readonly<Record<string, SubscriberOptions>>): Promise<void> {
    const stored = this.#subscribersFrom(subscribers);
    const definition = await this.#definition();
    await this.#write({ ...definition, subscribers: { ...definition.subscribers, ...stored } });
  }

  /** Removes a subscriber with every message of its queue, in flight or not; NotFoundError if unknown. */
  async removeSubscriber(name: string): Promise<void> {
    const definition = await this.#definition();
    if (!Object.hasOwn(definition.subscribers, name))
      throw new NotFoundError(`subscriber ${name} of topic ${this.name}`);
    const { [name]: _gone, ...rest } = definition.subscribers;
    await this.#write({ ...definition, subscribers: rest });
    await this.#drain(this.queueName(name));
  }

  /** Removes the topic, its subscribers and all their messages; NotFoundError if unknown. */
  async delete(): Promise<void> {
    const definition = await this.#definition();
    await this.runtime.store.setMeta({ [this.#meta]: null });
    for (const name of Object.keys(definition.subscribers)) await this.#drain(this.queueName(name));
  }

  /** One message to every subscriber, in one atomic add; resolves with the job id per subscriber. */
  async publish(data: T, options?: PublishOptions): Promise<Record<string, string>> {
    const [ids] = await this.publishBulk([{ data, options }]);
    return ids ?? {};
  }

  /** Many messages to every subscriber, all in one atomic add: all of them or none. */
  async publishBulk(
    items: readonly { data: T; options?: PublishOptions | undefined }[],
  ): Promise<Record<string, string>[]> {
    if (!Array.isArray(items)) throw new ValidationError('items', 'must be an array');
    this.runtime.assertOpen();
    const checked = items.map((item, i) => {
      const o = checkKeys(item, ['data', 'options'], `items[${i}]`);
      checkKeys(o.options, ['delay', 'priority', 'ttl', 'key'], `items[${i}].options`);
      return { payload: this.#encode(o.data, `items[${i}].data`), options: o.options, field: `items[${i}].options` };
    });
    const subscribers = Object.entries((await this.#definition()).subscribers).map(([name, s]) => ({
      name,
      queue: this.queueName(name),
      // The subscriber's settings, reused as they are by every message without options of its own.
      settings: Object.freeze({
        ...defaults,
        maxAttempts: s.maxAttempts ?? Infinity,
        visibilityMs: s.visibilityMs,
        backoff: s.backoff,
      }),
    }));
    const now = this.runtime.clock.now();
    const jobs: NewJob[] = [];
    for (const { payload, options, field } of checked) {
      for (const subscriber of subscribers) {
        const settings = options === undefined ? subscriber.settings : jobSettings(subscriber.settings, options, field);
        jobs.push(newJob(subscriber.queue, payload, settings, now));
      }
    }
    if (jobs.length === 0) return checked.map(() => ({}));
    const result = await this.runtime.store.add({ now, jobs, maxLength: {} });
    if (!result.ok) throw new ValidationError('topic', `queue ${result.fullQueue} refused the batch`);
    return checked.map((_, i) =>
      Object.fromEntries(subscribers.map(({ name }, j) => [name, result.ids[i * subscribers.length + j] as string])),
    );
  }

  /** Waiting and in-flight messages per subscriber. */
  async status(): Promise<SubscriberStatus[]> {
    const names = Object.keys((await this.#definition()).subscribers);
    const queues = names.map((n) => this.queueName(n));
    const counts = await this.runtime.store.counts(queues, this.runtime.clock.now());
    return names.map((name, i) => {
      const c = counts[i];
      return {
        name,
        queue: queues[i] as string,
        waiting: (c?.waiting ?? 0) + (c?.delayed ?? 0),
        inFlight: c?.active ?? 0,
        dead: c?.dead ?? 0,
      };
    });
  }

  /** The subscriber's queue: lease, consume or process it. NotFoundError if the subscriber is unknown. */
  async subscriber(name: string): Promise<Queue<T>> {
    const definition = await this.#definition();
    if (!Object.hasOwn(definition.subscribers, name))
      throw new NotFoundError(`subscriber ${name} of topic ${this.name}`);
    return new Queue<T>(this.runtime, this.runtime.config(this.queueName(name)));
  }

  /**
   * Acknowledges messages of a subscriber by id, as BlockQueue's DELETE does: an in-flight one
   * is acked, a waiting one (its lease ran out) is removed, a completed one stays done.
   * Resolves with how many of `ids` were the subscriber's.
   */
  async ack(subscriber: string, ids: readonly string[]): Promise<number> {
    const queue = this.queueName(subscriber);
    const { store, clock } = this.runtime;
    const mine = (await store.get(ids, clock.now())).filter((r): r is JobRecord => r !== null && r.queue === queue);
    const active = mine.filter((r) => r.state === 'active');
    // One ack call for every in-flight message; those whose lease moved on since are removed below.
    const outcomes =
      active.length === 0
        ? []
        : await store.ack({
            now: clock.now(),
            items: active.map((r) => ({ token: formatToken(r.id, r.attempts), result: null })),
            keep: { [queue]: this.runtime.config(queue).keep },
          });
    const acked = new Set(active.filter((_, i) => outcomes[i] === 'ok').map((r) => r.id));
    const rest = mine.filter((r) => r.state !== 'completed' && !acked.has(r.id)).map((r) => r.id);
    if (rest.length > 0) await store.remove({ now: clock.now(), ids: rest, states: null });
    return mine.length;
  }

  queueName(subscriber: string): string {
    return `${this.name}.${subscriber}`;
  }

  #encode(data: unknown, field: string): Uint8Array {
    const payload = jsonCodec.encode(data);
    if (payload.byteLength > this.runtime.maxPayloadBytes)
      throw new ValidationError(
        field,
        `is ${payload.byteLength} bytes encoded, over the limit of ${this.runtime.maxPayloadBytes}`,
      );
    return payload;
  }

  #subscribersFrom(subscribers: unknown): Record<string, StoredSubscriber> {
    if (typeof subscribers !== 'object' || subscribers === null || Array.isArray(subscribers))
      throw new ValidationError('subscribers', 'must be an object of name → options');
    const out: Record<string, StoredSubscriber> = {};
    for (const [name, options] of Object.entries(subscribers)) {
      checkTopicName(name, `subscribers.${name}`);
      const o = checkKeys(options, ['maxAttempts', 'visibility', 'backoff'], `subscribers.${name}`);
      const settings = jobSettings(defaults, o, `subscribers.${name}`);
      out[name] = {
        maxAttempts: settings.maxAttempts === Infinity ? null : settings.maxAttempts,
        visibilityMs: settings.visibilityMs,
        backoff: settings.backoff,
      };
    }
    return out;
  }

  #subscriberInfo(name: string, s: StoredSubscriber): SubscriberInfo {
    return {
      name,
      queue: this.queueName(name),
      maxAttempts: s.maxAttempts ?? Infinity,
      visibilityMs: s.visibilityMs,
      backoff: s.backoff,
    };
  }

  async #read(): Promise<Definition | null> {
    this.runtime.assertOpen();
    const [text] = await this.runtime.store.getMeta([this.#meta]);
    return text === null || text === undefined ? null : (JSON.parse(text) as Definition);
  }

  async #definition(): Promise<Definition> {
    const definition = await this.#read();
    if (definition === null) throw new NotFoundError(`topic ${this.name}`);
    return definition;
  }

  async #write(definition: Definition): Promise<void> {
    await this.runtime.store.setMeta({ [this.#meta]: JSON.stringify(definition) });
  }

  /** Every job of the queue goes, active ones too: their holders' acks then fail with LeaseLostError. */
  async #drain(queue: string): Promise<void> {
    const { store, clock } = this.runtime;
    await store.purge(queue, clock.now());
    for (;;) {
      const page = await store.list({ now: clock.now(), queue, state: 'active', cursor: null, limit: 1000 });
      if (page.jobs.length === 0) return;
      await store.remove({ now: clock.now(), ids: page.jobs.map((j) => j.id), states: null });
    }
  }
}
