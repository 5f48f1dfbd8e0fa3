// traceWorkers: a worker's handler runs inside a CONSUMER span of an in-memory tracer, ended
// when the handler's promise settles, marked as an error when it throws.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { after, before, test } from 'node:test';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { bytesCodec, open, traceWorkers } from '../src/index.ts';
import type { LeasedJob } from '../src/index.ts';

/** The active context follows async calls (what @opentelemetry/context-async-hooks does). */
class StorageContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => this.with(ctx, fn, undefined, ...args)) as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const exporter = new InMemorySpanExporter();
before(() => {
  context.setGlobalContextManager(new StorageContextManager());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
after(() => {
  trace.disable();
  context.disable();
});

void test('each handler runs inside its own CONSUMER span, ended when its promise settles; a throw marks it', async () => {
  const spool = await open('memory:');
  try {
    assert.equal(typeof (await traceWorkers(spool)), 'function');
    const q = spool.queue<string>('mail');
    const [ok, bad] = await q.addBulk([{ data: 'ok' }, { data: 'bad', options: { maxAttempts: 1 } }]);
    const inside = new Map<string, string | undefined>();
    const done = new Promise<void>((resolve) => {
      let left = 2;
      const worker = q.process(async (job: LeasedJob<string>) => {
        await Promise.resolve();
        // After an await: the span is still the active one, so the handler's own calls join it.
        inside.set(job.id, trace.getActiveSpan()?.spanContext().spanId);
        if (job.data === 'bad') throw new Error('no such mailbox');
      });
      const count = (): void => {
        if (--left === 0) resolve();
      };
      worker.on('completed', count);
      worker.on('dead', count);
    });
    await done;
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    for (const span of spans) {
      const id = String(span.attributes['messaging.message.id']);
      assert.ok(id === ok || id === bad);
      assert.equal(span.name, 'mail process');
      assert.equal(span.kind, SpanKind.CONSUMER);
      assert.equal(span.attributes['messaging.destination.name'], 'mail');
      assert.equal(span.attributes['spool.job.attempt'], 1);
      assert.equal(inside.get(id), span.spanContext().spanId, 'the handler ran inside this span');
      assert.deepEqual(
        span.status,
        id === bad ? { code: SpanStatusCode.ERROR, message: 'no such mailbox' } : { code: SpanStatusCode.UNSET },
      );
    }
  } finally {
    await spool.close();
  }
});

void test("a job added inside a span carries its traceparent, and the worker's span links to that span", async () => {
  const spool = await open('memory:');
  try {
    await traceWorkers(spool);
    exporter.reset();
    const q = spool.queue<{ n: number }>('traced');
    const tracer = trace.getTracer('test');
    const producer = tracer.startSpan('checkout');
    await context.with(trace.setSpan(context.active(), producer), () => q.add({ n: 1 }));
    producer.end();
    const outside = await q.add({ n: 2 });
    // The payload reads back as it was added, on every path.
    assert.deepEqual(
      (await q.peek(2)).map((j) => j.data),
      [{ n: 1 }, { n: 2 }],
    );

    const seen = new Map<number, string | null>();
    const worker = q.process((job) => void seen.set(job.data.n, job.traceparent));
    await new Promise<void>((resolve) => worker.on('completed', () => seen.size === 2 && resolve()));
    await worker.close();
    const { traceId, spanId } = producer.spanContext();
    assert.deepEqual([...seen].sort(), [
      [1, `00-${traceId}-${spanId}-01`],
      [2, null],
    ]);
    const consumers = exporter.getFinishedSpans().filter((s) => s.name === 'traced process');
    const linked = consumers.find((s) => s.attributes['messaging.message.id'] !== outside);
    const unlinked = consumers.find((s) => s.attributes['messaging.message.id'] === outside);
    assert.deepEqual(
      linked?.links.map((l) => [l.context.traceId, l.context.spanId]),
      [[traceId, spanId]],
    );
    assert.deepEqual(unlinked?.links, []);
  } finally {
    await spool.close();
  }
});

void test('without traceWorkers a job added inside a span is stored as it is, with no trace header', async () => {
  const spool = await open('memory:');
  try {
    const q = spool.queue<string>('plain');
    const span = trace.getTracer('test').startSpan('outer');
    const id = await context.with(trace.setSpan(context.active(), span), () => q.add('x'));
    span.end();
    const [job] = await q.lease();
    assert.equal(job?.id, id);
    assert.equal(job?.traceparent, null);
    await job?.ack();
    // A bytes payload that starts with a NUL byte but no trace header reads back whole.
    const bytes = spool.queue<Uint8Array>('bytes', { codec: bytesCodec });
    const raw = new Uint8Array([0, 115, 112, 111, 111, 108]);
    await bytes.add(raw);
    assert.deepEqual((await bytes.peek(1))[0]?.data, raw);
  } finally {
    await spool.close();
  }
});
