// Model-based property test: random sequences of operations run against the store
// SPOOL_TEST_STORE names (memory when unset) and a small reference model, compared after every step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LeaseLostError, ManualClock, Spool } from '../src/index.ts';
import type { LeasedJob, Queue } from '../src/index.ts';
import { testStore } from './support/test-store.ts';

const visibilityMs = 20_000;
const maxAttempts = 3;

interface ModelJob {
  state: 'waiting' | 'delayed' | 'active' | 'dead' | 'completed';
  priority: number;
  seq: number;
  readyAt: number;
  attempts: number;
  until: number;
}

class Model {
  readonly jobs = new Map<string, ModelJob>();
  seq = 0;
  constructor(public now: number) {}

  settle(): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'delayed' && job.readyAt <= this.now) job.state = 'waiting';
      if (job.state === 'active' && job.until <= this.now) {
        if (job.attempts >= maxAttempts) job.state = 'dead';
        else {
          job.state = 'waiting';
          job.readyAt = job.until;
        }
      }
    }
  }

  order(): string[] {
    return [...this.jobs.entries()]
      .filter(([, j]) => j.state === 'waiting')
      .sort(([, a], [, b]) => b.priority - a.priority || a.readyAt - b.readyAt || a.seq - b.seq)
      .map(([id]) => id);
  }

  counts(): Record<string, number> {
    const c: Record<string, number> = { waiting: 0, delayed: 0, active: 0, dead: 0, completed: 0 };
    for (const j of this.jobs.values()) c[j.state]!++;
    return c;
  }

  current(lease: LeasedJob): ModelJob | undefined {
    const job = this.jobs.get(lease.id);
    return job?.state === 'active' && job.attempts === lease.attempt && job.until > this.now ? job : undefined;
  }
}

interface Real {
  spool: Spool;
  queue: Queue<number>;
  clock: ManualClock;
  leases: LeasedJob<number>[];
}

type Op =
  | { kind: 'add'; priority: number; delay: number }
  | { kind: 'lease'; max: number }
  | { kind: 'ack'; pick: number }
  | { kind: 'nack'; pick: number; delay: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'cancel'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('add' as const),
    priority: fc.integer({ min: -1, max: 1 }),
    delay: fc.constantFrom(0, 0, 500, 5000),
  }),
  fc.record({ kind: fc.constant('lease' as const), max: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('nack' as const), pick: fc.nat(), delay: fc.constantFrom(0, 1000) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(100, 1000, 10_000, 25_000) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
);

async function step(model: Model, real: Real, o: Op): Promise<void> {
  model.settle();
  const { queue } = real;
  switch (o.kind) {
    case 'add': {
      const id = await queue.add(model.seq, { priority: o.priority, delay: o.delay });
      const readyAt = model.now + o.delay;
      model.jobs.set(id, {
        state: o.delay > 0 ? 'delayed' : 'waiting',
        priority: o.priority,
        seq: model.seq++,
        readyAt,
        attempts: 0,
        until: 0,
      });
      break;
    }
    case 'lease': {
      const expected = model.order().slice(0, o.max);
      const got = await queue.lease({ max: o.max });
      assert.deepEqual(
        got.map((j) => j.id),
        expected,
      );
      for (const lease of got) {
        const job = model.jobs.get(lease.id)!;
        job.state = 'active';
        job.attempts++;
        job.until = model.now + visibilityMs;
        assert.equal(lease.attempt, job.attempts);
      }
      real.leases.push(...got);
      break;
    }
    case 'ack':
    case 'nack': {
      const lease = real.leases[o.pick % Math.max(1, real.leases.length)];
      if (lease === undefined) break;
      const job = model.current(lease);
      const run = o.kind === 'ack' ? lease.ack() : lease.nack({ delay: o.delay, error: 'no' });
      if (job === undefined) {
        await assert.rejects(run, LeaseLostError);
        break;
      }
      await run;
      if (o.kind === 'ack') job.state = 'completed';
      else if (job.attempts >= maxAttempts) job.state = 'dead';
      else {
        job.state = o.delay > 0 ? 'delayed' : 'waiting';
        job.readyAt = model.now + o.delay;
      }
      break;
    }
    case 'advance':
      model.now += o.ms;
      real.clock.advance(o.ms);
      break;
    case 'cancel': {
      const ids = [...model.jobs.keys()];
      const id = ids[o.pick % Math.max(1, ids.length)];
      if (id === undefined) break;
      const job = model.jobs.get(id)!;
      const cancelled = await queue.cancel(id);
      assert.equal(cancelled, job.state === 'waiting' || job.state === 'delayed');
      if (cancelled) model.jobs.delete(id);
      break;
    }
  }
  model.settle();
  const counts = await queue.counts();
  assert.deepEqual(
    {
      waiting: counts.waiting,
      delayed: counts.delayed,
      active: counts.active,
      dead: counts.dead,
      completed: counts.completed,
    },
    model.counts(),
  );
}

void test('random operation sequences agree with the reference model after every step', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
      const clock = new ManualClock();
      const spool = await Spool.create(await testStore.open(), { clock });
      const queue = spool.queue<number>('model', {
        maxAttempts,
        visibility: visibilityMs,
        backoff: { type: 'fixed', delay: 0 },
      });
      const model = new Model(clock.now());
      const real: Real = { spool, queue, clock, leases: [] };
      try {
        for (const o of ops) await step(model, real, o);
      } finally {
        await spool.close();
      }
    }),
    { numRuns: 200 },
  );
});
