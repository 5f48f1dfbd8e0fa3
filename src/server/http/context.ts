import type { FastifyReply } from 'fastify';
import type { Spool } from '../../index.ts';
import type { Need, Principal } from './auth.ts';

/** What the routes share: the spool, the server's shutdown signal and its limits. */
export interface Context {
  readonly spool: Spool;
  /** Aborted when the server starts closing: pending long-polls answer at once. */
  readonly closing: AbortSignal;
  /** The longest a long-poll may wait, in ms; longer requests are cut to it. */
  readonly maxWaitMs: number;
  readonly bodyLimit: number;
  /** The body limit of a route that adds one job or message: see `oneJobBodyLimit`. */
  readonly oneJobBodyLimit: number;
}

/** Room in a body for the options and JSON around one payload. */
const envelopeBytes = 64 * 1024;

/**
 * A body holding one job can be at most the payload limit and its envelope, whatever the server's
 * body limit: fastify then refuses a bigger one from its Content-Length, before reading a byte of
 * it (issue 20: a 100 MB payload was parsed and encoded whole, +414 MB, before the size check).
 */
export function oneJobBodyLimit(bodyLimit: number, maxPayloadBytes: number): number {
  return Math.min(bodyLimit, maxPayloadBytes + envelopeBytes);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope the route needs; routes without one need no token (health, docs). */
    need?: Need;
    /** The queues or topics the request touches, for the token's prefix. */
    names?: (request: FastifyRequest) => readonly string[];
    /** BlockQueue's `{ message, data, error }` envelope instead of spool's `{ error: { code, message } }`. */
    envelope?: 'blockqueue';
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

/**
 * Runs a long-poll with a signal that aborts when the server closes or the client goes away.
 * `gone` tells the caller to hand back whatever it got, since nobody will read the answer.
 */
export async function longPoll<T>(
  context: Context,
  reply: FastifyReply,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<{ value: T; gone: boolean }> {
  // One controller per request with a listener on `closing` that goes when the request ends,
  // so nothing piles up on the server-long signal however many long-polls come and go.
  const abort = new AbortController();
  let gone = false;
  const onClose = (): void => {
    if (reply.raw.writableEnded) return;
    gone = true;
    abort.abort();
  };
  const onClosing = (): void => abort.abort();
  reply.raw.once('close', onClose);
  context.closing.addEventListener('abort', onClosing, { once: true });
  if (context.closing.aborted) abort.abort();
  try {
    return { value: await run(abort.signal), gone };
  } finally {
    reply.raw.off('close', onClose);
    context.closing.removeEventListener('abort', onClosing);
  }
}

/** A long-poll's wait: at most the server's limit. */
export function cappedWait(context: Context, ms: number): number {
  return Math.min(ms, context.maxWaitMs);
}
