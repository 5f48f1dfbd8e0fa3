// A random workload on the Store API and a model of what its answers promised, for the crash
// tests: the model records each answered call, and `verify` checks a reopened store against it.
import assert from 'node:assert/strict';
import type { JobRecord, JobState, NewJob, Store } from '../../src/store/contract.ts';
import { below } from './crash-io.ts';
import type { Rng } from './crash-io.ts';

export const queues = ['a', 'b', 'c'];
const states: readonly JobState[] = ['waiting', 'delayed', 'active', 'dead', 'completed'];
const payloadSizes = [0, 8, 40, 100, 300, 1500, 2500];

/**
 * A payload that can be checked on its own: a u32 tag, its length, then bytes made from the tag.
 * Sizes under 8 are empty.
 */
export function payloadFor(tag: number, size: number): Buffer {
  if (size < 8) return Buffer.alloc(0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(tag, 0);
  out.writeUInt32LE(size, 4);
  for (let i = 8; i < size; i++) out[i] = (tag * 131 + i * 7) & 255;
  return out;
}

/** Null when `payload` is one `payloadFor` made, else what is wrong with it. */
function payloadProblem(payload: Uint8Array): string | null {
  if (payload.byteLength === 0) return null;
  const b = Buffer.from(payload);
  if (b.length < 8 || b.readUInt32LE(4) !== b.length)
    return `length ${b.length}, header says ${b.length >= 8 ? b.readUInt32LE(4) : '?'}`;
  return payloadFor(b.readUInt32LE(0), b.length).equals(b) ? null : 'bytes differ from what was written';
}

export function newJob(queue: string, payload: Uint8Array): NewJob {
  return {
    queue,
    payload,
    priority: 0,
    maxAttempts: 5,
    availableAt: 0,
    expiresAt: null,
    visibilityMs: 600_000,
    backoff: { kind: 'fixed', delayMs: 0, maxDelayMs: 0, jitter: 0 },
    key: null,
  };
}

type Fact =
  | { readonly kind: 'added'; readonly id: string }
  | { readonly kind: 'finished'; readonly id: string }
  | { readonly kind: 'meta'; readonly id: string; readonly value: string };

/** What the answers of a run promised. */
export class Model {
  now = 1_000_000;
  #tag = 0;
  /** Bumped when the process dies: answers that still come from it promise nothing. */
  epoch = 0;
  /** The payload and queue of every job whose add was answered. */
  readonly payloads = new Map<string, Buffer>();
  /** The queue and the add call's `now` of those jobs, and when each queue was last purged. */
  readonly added = new Map<string, { queue: string; now: number }>();
  readonly purged = new Map<string, number>();
  /** Answered calls, in the order they were answered. */
  facts: Fact[] = [];
  /** Facts before this index survive a power cut: synced (fsync mode: all of them). */
  powerSafe = 0;
  /** Jobs an ack, nack or remove was sent for, answered or not: their state may have moved. */
  readonly touched = new Set<string>();
  /** Tokens of answered leases not settled yet. */
  held: { token: string; id: string }[] = [];

  /** fsync durability: every answer is synced. */
  constructor(public syncsEveryCall: boolean) {}

  nextPayload(rng: Rng): Buffer {
    return payloadFor(++this.#tag, payloadSizes[below(rng, payloadSizes.length)] as number);
  }

  nextTag(): number {
    return ++this.#tag;
  }

  answered(fact: Fact): void {
    this.facts.push(fact);
    if (this.syncsEveryCall) this.powerSafe = this.facts.length;
  }

  /** An ack, nack, remove or purge was sent that may have moved the job. */
  touches(id: string): boolean {
    const added = this.added.get(id);
    return this.touched.has(id) || (added !== undefined && (this.purged.get(added.queue) ?? -1) >= added.now);
  }

  /** The process died: what it answers from now on does not count. */
  died(): void {
    this.epoch++;
  }

  /** The power went: answers not synced may be lost, so they promise nothing any more. */
  poweredOff(): void {
    this.died();
    this.facts = this.facts.slice(0, this.powerSafe);
    this.held = [];
  }
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** One random call, not awaited: it records what its answer promised when it comes. */
function call(store: Store, rng: Rng, model: Model): Promise<unknown> {
  const now = ++model.now;
  const epoch = model.epoch;
  const live = (): boolean => model.epoch === epoch;
  const queue = queues[below(rng, queues.length)] as string;
  const r = rng();
  if (r < 0.4) {
    const payloads = Array.from({ length: r < 0.3 ? 1 : 2 + below(rng, 5) }, () => model.nextPayload(rng));
    // Some jobs start delayed: the delay ends a few calls later, in this process or a replay.
    const availableAt = rng() < 0.2 ? now + below(rng, 10) : 0;
    const jobs = payloads.map((p) => ({ ...newJob(queue, p), availableAt }));
    return store.add({ now, jobs }).then((result) => {
      assert.ok(result.ok);
      if (!live()) return;
      result.ids.forEach((id, i) => {
        model.payloads.set(id, payloads[i] as Buffer);
        model.added.set(id, { queue, now });
        model.answered({ kind: 'added', id });
      });
    });
  }
  if (r < 0.6) {
    return store.lease({ now, queues: [queue], max: 1 + below(rng, 3), visibilityMs: null }).then((result) => {
      if (live()) for (const job of result.jobs) model.held.push({ token: job.token, id: job.id });
    });
  }
  if (r < 0.85 && model.held.length > 0) {
    const { token, id } = model.held.splice(below(rng, model.held.length), 1)[0] as { token: string; id: string };
    model.touched.add(id);
    const s = rng();
    if (s < 0.55) {
      return store.ack({ now, items: [{ token, result: null }] }).then(([acked]) => {
        if (acked !== null && live()) model.answered({ kind: 'finished', id });
      });
    }
    if (s < 0.65) {
      model.held.push({ token, id });
      return store.extend({ now, token, ms: 600_000 });
    }
    const delayMs = rng() < 0.5 ? 0 : below(rng, 10);
    const kind = s < 0.72 ? 'dead' : s > 0.92 ? 'release' : s > 0.86 ? 'requeue' : 'fail';
    return store.nack({ now, token, delayMs, error: 'failed', kind });
  }
  if (r < 0.9 && model.payloads.size > 0) {
    const ids = [...model.payloads.keys()];
    const id = ids[below(rng, ids.length)] as string;
    model.touched.add(id);
    return store.remove({ now, ids: [id], states: null }).then((removed) => {
      if (removed.includes(id) && live()) model.answered({ kind: 'finished', id });
    });
  }
  if (r < 0.91) {
    model.purged.set(queue, now);
    return store.purge({ now, queue });
  }
  if (r < 0.93) {
    const name = `meta-${model.nextTag()}`;
    const value = 'x'.repeat(below(rng, 200));
    return store.setMeta({ now, entries: { [name]: value } }).then(() => {
      if (live()) model.answered({ kind: 'meta', id: name, value });
    });
  }
  if (r < 0.95) return (store as Store & { checkpoint(): Promise<void> }).checkpoint();
  const mark = model.facts.length;
  return store.sync().then(() => {
    if (live()) model.powerSafe = Math.max(model.powerSafe, mark);
  });
}

/**
 * Sends `calls` random calls, several at once, letting the event loop turn between some of them.
 * Returns without waiting for the last answers: a crash may come before them.
 */
export async function runWorkload(store: Store, rng: Rng, model: Model, calls: number): Promise<void> {
  let inFlight = 0;
  for (let i = 0; i < calls; i++) {
    inFlight++;
    call(store, rng, model).then(
      () => inFlight--,
      () => inFlight--,
    );
    const r = rng();
    if (r < 0.35) await ticks(1 + below(rng, 4));
    else if (inFlight > 16) await ticks(2);
  }
  await ticks(below(rng, 8));
}

/** Every job in the store, read back through list. */
async function allJobs(store: Store, now: number): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  for (const queue of queues) {
    for (const state of states) {
      let cursor: string | null = null;
      do {
        const page = await store.list({ now, queue, state, cursor, limit: 100 });
        jobs.push(...page.jobs);
        cursor = page.cursor;
      } while (cursor !== null);
    }
  }
  return jobs;
}

/**
 * Checks a reopened store against the model: nothing corrupt, and every fact before `upTo`
 * holds: an answered add is there with its payload (unless an ack or remove was sent for it),
 * an answered ack or remove is not undone. `listAll` false skips reading every job: a store
 * that failed still has in memory the calls it was writing when it failed, but not their bytes.
 */
export async function verify(store: Store, model: Model, upTo: number, listAll = true): Promise<void> {
  const now = model.now;
  const jobs = listAll ? await allJobs(store, now) : [];
  const seen = new Set<string>();
  const trusted = new Set(model.facts.slice(0, upTo).map((f) => f.kind === 'added' && f.id));
  for (const job of jobs) {
    assert.ok(!seen.has(job.id), `job ${job.id} is listed twice`);
    seen.add(job.id);
    const problem = payloadProblem(job.payload);
    assert.equal(problem, null, `job ${job.id} (${job.state}): payload corrupt: ${problem}`);
    const expected = model.payloads.get(job.id);
    if (expected !== undefined && trusted.has(job.id))
      assert.ok(expected.equals(Buffer.from(job.payload)), `job ${job.id}: payload is another job's`);
  }
  const facts = model.facts.slice(0, upTo);
  const metas = facts.filter((f) => f.kind === 'meta');
  const values = await store.getMeta({ now, names: metas.map((f) => f.id) });
  metas.forEach((f, i) => assert.equal(values[i], f.value, `meta document ${f.id}: its answered write was lost`));
  const ids = [...new Set(facts.filter((f) => f.kind !== 'meta').map((f) => f.id))];
  const records = await store.get({ now, ids });
  const byId = new Map(ids.map((id, i) => [id, records[i] ?? null]));
  for (const fact of facts) {
    const job = byId.get(fact.id) ?? null;
    if (fact.kind === 'meta') continue;
    if (fact.kind === 'finished') {
      assert.ok(
        job === null || job.state === 'completed',
        `job ${fact.id}: its answered ack/remove was undone (${job?.state})`,
      );
    } else if (!model.touches(fact.id)) {
      assert.ok(job !== null, `job ${fact.id}: its answered add was lost`);
      assert.notEqual(job.state, 'completed', `job ${fact.id}: completed without an ack`);
      assert.ok(
        (model.payloads.get(fact.id) as Buffer).equals(Buffer.from(job.payload)),
        `job ${fact.id}: payload differs`,
      );
    }
  }
}

/** The reopened store takes new work: an add, a lease, an ack, with an id no other job has. */
export async function smoke(store: Store, model: Model): Promise<void> {
  const now = ++model.now;
  const present = new Set((await allJobs(store, now)).map((job) => job.id));
  const payload = payloadFor(0xfffffff, 64);
  // Its ack below leaves nothing behind: the queue keeps no completed job.
  await store.configure({ now, queue: 'smoke', changes: { keepCompleted: { count: 0, ageMs: 0 } } });
  const added = await store.add({ now, jobs: [newJob('smoke', payload)] });
  assert.ok(added.ok);
  const id = added.ids[0] as string;
  assert.ok(!present.has(id), `a new job got id ${id}, which another job has`);
  const { jobs } = await store.lease({ now, queues: ['smoke'], max: 1, visibilityMs: null });
  assert.equal(jobs[0]?.id, id);
  assert.ok(payload.equals(Buffer.from(jobs[0].payload)));
  assert.deepEqual(await store.ack({ now, items: [{ token: jobs[0].token, result: null }] }), ['smoke']);
  assert.equal((await store.get({ now, ids: [id] }))[0], null);
}
