// OpenTelemetry for spool's workers (issue 18): each handler runs inside a CONSUMER span, so
// what it does (queries, calls out) joins that span's trace. @opentelemetry/api is an optional
// peer: it is imported here, on the call, and never by `import 'spool'`.
import type * as OtelApi from '@opentelemetry/api';
import type { Span, SpanContext } from '@opentelemetry/api';
import type { Spool } from '../index.ts';

type Api = typeof OtelApi;

/**
 * Runs every worker handler of `spool` inside a span named `<queue> process` (messaging
 * semantic conventions), linked to the span that added the job: a job added through `spool`
 * inside a span carries that span's traceparent. Resolves with a function that stops it, or null when
 * @opentelemetry/api is not installed (then nothing changes and nothing is paid).
 */
export async function traceWorkers(spool: Spool): Promise<(() => void) | null> {
  let api: Api;
  try {
    api = await import('@opentelemetry/api');
  } catch {
    return null;
  }
  const tracer = api.trace.getTracer('spool');
  const failed = (span: Span, error: unknown): void => {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  };
  return spool.observe({
    // A job added inside a span carries that span's context (core/trace-header.ts).
    traceparent() {
      const span = api.trace.getSpanContext(api.context.active());
      if (span === undefined || !api.trace.isSpanContextValid(span)) return null;
      return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    },
    around(job, run) {
      const attributes = {
        'messaging.system': 'spool',
        'messaging.operation.type': 'process',
        'messaging.destination.name': job.queue,
        'messaging.message.id': job.id,
        'spool.job.attempt': job.attempt,
      };
      // Linked to the producer's span rather than its child: a job may run long after, and many
      // times (messaging semantic conventions).
      const producer = job.traceparent === null ? null : spanContext(job.traceparent);
      return tracer.startActiveSpan(
        `${job.queue} process`,
        { kind: api.SpanKind.CONSUMER, attributes, links: producer === null ? [] : [{ context: producer }] },
        (span): unknown => {
          let value: unknown;
          try {
            value = run();
          } catch (error) {
            failed(span, error);
            span.end();
            throw error;
          }
          // A plain value stays plain: the worker runs such handlers without a promise of its own.
          if (!isThenable(value)) {
            span.end();
            return value;
          }
          return Promise.resolve(value).then(
            (result) => {
              span.end();
              return result;
            },
            (error: unknown) => {
              failed(span, error);
              span.end();
              throw error;
            },
          );
        },
      );
    },
  });
}

/** The span context a W3C traceparent names (trace-header.ts checked its shape). */
function spanContext(traceparent: string): SpanContext {
  const [, traceId = '', spanId = '', flags = '00'] = traceparent.split('-');
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
