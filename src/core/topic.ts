// Topics: fan-out built on one batched add. A topic is the meta document `topic/<name>` (when it
// was created) and one document per subscriber, `topic/<name>/<subscriber>` (its options). Each
// subscriber is the queue `<topic>.<subscriber>`, and every job published to it carries the
// subscriber's options (attempts, visibility, back-off), so whoever consumes that queue — a
// lease, a worker, another process — honours them without reading the topic.
//
// Definitions are read before every publish instead of cached: with a shared store another
// process may add or remove subscribers at any time. Adding or removing a subscriber writes its
// own document and no other, so edits made at the same instant, in one process or in several
// on a shared store, cannot undo each other: the contract has no compare-and-set, and a whole
// definition read, changed and written back lost one of two concurrent edits (issue 6).
import { checkKeys, ExistsError, NotFoundError, ValidationError } from '../errors.ts';
import type { Backoff, JobRecord, NewJob } from '../store/contract.ts';
import { jsonCodec } from './codec.ts';
import type { Duration } from './duration.ts';
import { defaultJob, jobSettings, newJob } from './options.ts';
import type { BackoffOptions } from './options.ts';
import { Queue } from './queue.ts';
import type { Runtime } from './runtime.ts';

export interface SubscriberOptions {
  /** Deliveries before a message goes dead; default 5 (the queue default). */
  maxAttempts?: number;
  /** How long a read message stays in flight before it is delivered again; default 30s. */
  visibility?: Duration;
  /** Wait after a failed delivery (a duration alone: fixed); default exponential from 1s. */
  backoff?: BackoffOptions | Duration;
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
  /** By name. */
  readonly subscribers: readonly SubscriberInfo[];
}

interface StoredSubscriber {
  /** null stands for Infinity, which JSON cannot hold. */
  readonly maxAttempts: number | null;
  readonly visibilityMs: number;
  readonly backoff: Backoff;
}

/** The topic's own document. */
interface Head {
  readonly createdAt: number;
}

interface Definition {
  /** null: the topic does not exist (subscriber documents may still be left from a concurrent delete). */
  readonly head: Head | null;
  readonly subscribers: Readonly<Record<string, StoredSubscriber>>;
}

const namePattern = /^[A-Za-z0-9_:-]{1,99}$/;
const metaPrefix = 'topic/';
/** A subscriber's options start from a queue's defaults. */
const defaults = defaultJob;

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
  const names = await runtime.store.listMeta({ now: runtime.clock.now(), prefix: metaPrefix });
  // Topic names leave out '/': a name with one is a subscriber's document.
  return names.map((n) => n.slice(metaPrefix.length)).filter((n) => !n.includes('/'));
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
    const { head, subscribers: left } = await this.#read();
    if (head !== null) throw new ExistsError('topic', this.name);
    // Subscriber documents an add wrote while the topic was being deleted belong to the old topic.
    const entries: Record<string, string | null> = Object.fromEntries(
      Object.keys(left).map((name) => [this.#subscriberMeta(name), null]),
    );
    entries[this.#meta] = JSON.stringify({ createdAt: this.runtime.clock.now() } satisfies Head);
    for (const [name, s] of Object.entries(stored)) entries[this.#subscriberMeta(name)] = JSON.stringify(s);
    await this.runtime.store.setMeta({ now: this.runtime.clock.now(), entries });
  }

  async exists(): Promise<boolean> {
    this.runtime.assertOpen();
    const [head] = await this.runtime.store.getMeta({ now: this.runtime.clock.now(), names: [this.#meta] });
    return head !== null && head !== undefined;
  }

  async info(): Promise<TopicInfo> {
    const { head, subscribers } = await this.#definition();
    return {
      name: this.name,
      createdAt: head.createdAt,
      subscribers: Object.entries(subscribers).map(([name, s]) => this.#subscriberInfo(name, s)),
    };
  }

  /** Adds subscribers, or changes the options of ones that exist; they see messages published from now on. */
  async addSubscribers(subscribers: Readonly<Record<string, SubscriberOptions>>): Promise<void> {
    const stored = this.#subscribersFrom(subscribers);
    await this.#checkExists([]);
    await this.runtime.store.setMeta({
      now: this.runtime.clock.now(),
      entries: Object.fromEntries(
        Object.entries(stored).map(([name, s]) => [this.#subscriberMeta(name), JSON.stringify(s)]),
      ),
    });
  }

  /** Removes a subscriber with every message of its queue, in flight or not; NotFoundError if unknown. */
  async removeSubscriber(name: string): Promise<void> {
    await this.#checkExists([name]);
    await this.runtime.store.setMeta({
      now: this.runtime.clock.now(),
      entries: { [this.#subscriberMeta(name)]: null },
    });
    await this.#drain(this.queueName(name));
  }

  /** Removes the topic, its subscribers and all their messages; NotFoundError if unknown. */
  async delete(): Promise<void> {
    const { subscribers } = await this.#definition();
    const names = Object.keys(subscribers);
    await this.runtime.store.setMeta({
      now: this.runtime.clock.now(),
      entries: { [this.#meta]: null, ...Object.fromEntries(names.map((name) => [this.#subscriberMeta(name), null])) },
    });
    for (const name of names) await this.#drain(this.queueName(name));
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
      const payload = this.runtime.observers.stamp(this.#encode(o.data, `items[${i}].data`));
      return { payload, options: o.options, field: `items[${i}].options` };
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
    const result = await this.runtime.add({ now, jobs });
    if (!result.ok) throw new ValidationError('topic', `queue ${result.fullQueue} refused the batch`);
    return checked.map((_, i) =>
      Object.fromEntries(subscribers.map(({ name }, j) => [name, result.ids[i * subscribers.length + j] as string])),
    );
  }

  /** Waiting and in-flight messages per subscriber. */
  async status(): Promise<SubscriberStatus[]> {
    const names = Object.keys((await this.#definition()).subscribers);
    const queues = names.map((n) => this.queueName(n));
    const counts = await this.runtime.store.counts({ now: this.runtime.clock.now(), queues });
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

  /**
   * The subscriber's queue: lease, consume or process it. A handle, made at once as a remote
   * topic makes it (issue 13: it was a Promise here and not there); the queue of a subscriber
   * that does not exist is empty. `requireSubscriber` also checks that it exists.
   */
  subscriber(name: string): Queue<T> {
    checkTopicName(name, 'subscriber');
    return new Queue<T>(this.runtime, this.runtime.config(this.queueName(name)));
  }

  /** The subscriber's queue; NotFoundError naming the topic or the subscriber if either does not exist. */
  async requireSubscriber(name: string): Promise<Queue<T>> {
    await this.#checkExists([name]);
    return this.subscriber(name);
  }

  /**
   * Acknowledges messages of a subscriber by id, as BlockQueue's DELETE does: an in-flight or
   * waiting one is removed, a completed one stays done. By id means without the lease's token,
   * and only the lease's holder can settle a lease (issue 20): the message goes as removed, not
   * completed. Resolves with how many of `ids` were the subscriber's; NotFoundError if the topic
   * or the subscriber does not exist (a misspelt name is not "none of these ids").
   */
  async ack(subscriber: string, ids: readonly string[]): Promise<number> {
    await this.#checkExists([subscriber]);
    const queue = this.queueName(subscriber);
    const { store, clock } = this.runtime;
    const mine = (await store.get({ now: clock.now(), ids })).filter(
      (r): r is JobRecord => r !== null && r.queue === queue,
    );
    const rest = mine.filter((r) => r.state !== 'completed').map((r) => r.id);
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
    // Made with fromEntries, as #read's: an assignment to `out['__proto__']` would set the
    // object's prototype and drop the subscriber without a word.
    return Object.fromEntries(
      Object.entries(subscribers).map(([name, options]) => {
        checkTopicName(name, `subscribers.${name}`);
        const o = checkKeys(options, ['maxAttempts', 'visibility', 'backoff'], `subscribers.${name}`);
        const settings = jobSettings(defaults, o, `subscribers.${name}`);
        const stored: StoredSubscriber = {
          maxAttempts: settings.maxAttempts === Infinity ? null : settings.maxAttempts,
          visibilityMs: settings.visibilityMs,
          backoff: settings.backoff,
        };
        return [name, stored];
      }),
    );
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

  #subscriberMeta(subscriber: string): string {
    return `${this.#meta}/${subscriber}`;
  }

  /** The topic's document and its subscribers', each read once. */
  async #read(): Promise<Definition> {
    this.runtime.assertOpen();
    const { store, clock } = this.runtime;
    const keys = await store.listMeta({ now: clock.now(), prefix: `${this.#meta}/` });
    const [head, ...texts] = await store.getMeta({ now: clock.now(), names: [this.#meta, ...keys] });
    const subscribers: Record<string, StoredSubscriber> = Object.fromEntries(
      keys.flatMap((key, i) => {
        const text = texts[i];
        // Gone between the list and the read: removed meanwhile.
        if (text === null || text === undefined) return [];
        return [[key.slice(this.#meta.length + 1), JSON.parse(text) as StoredSubscriber]];
      }),
    );
    return { head: head === null || head === undefined ? null : (JSON.parse(head) as Head), subscribers };
  }

  async #definition(): Promise<Definition & { head: Head }> {
    const definition = await this.#read();
    if (definition.head === null) throw new NotFoundError('topic', this.name);
    return { ...definition, head: definition.head };
  }

  /** NotFoundError unless the topic and each of these subscribers exist. */
  async #checkExists(names: readonly string[]): Promise<void> {
    this.runtime.assertOpen();
    const [head, ...found] = await this.runtime.store.getMeta({
      now: this.runtime.clock.now(),
      names: [this.#meta, ...names.map((n) => this.#subscriberMeta(n))],
    });
    if (head === null || head === undefined) throw new NotFoundError('topic', this.name);
    const missing = names.findIndex((_, i) => found[i] === null || found[i] === undefined);
    if (missing >= 0) throw new NotFoundError('subscriber', names[missing] ?? '', this.name);
  }

  /** Every job of the queue goes, active ones too: their holders' acks then fail with LeaseLostError. */
  async #drain(queue: string): Promise<void> {
    const { store, clock } = this.runtime;
    await store.purge({ now: clock.now(), queue });
    for (;;) {
      const page = await store.list({ now: clock.now(), queue, state: 'active', cursor: null, limit: 1000 });
      if (page.jobs.length === 0) return;
      await store.remove({ now: clock.now(), ids: page.jobs.map((j) => j.id), states: null });
    }
  }
}
