// The HTTP server: fastify with a JSON schema on every route, bearer-token auth, body limits,
// errors as JSON mapped from their code, OpenAPI at /docs, and a shutdown that answers
// pending long-polls before the store closes.
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Spool } from '../../index.ts';
import { Guard } from './auth.ts';
import type { TokenGrant } from './auth.ts';
import { auditRoutes } from './audit.ts';
import { blockQueueError, blockQueueRoutes } from './blockqueue.ts';
import { timeoutOptions } from './connections.ts';
import type { ConnectionLimits } from './connections.ts';
import { oneJobBodyLimit } from './context.ts';
import type { Context } from './context.ts';
import { clientErrorAnswer, errorBody, failure } from './errors.ts';
import type { Failure } from './errors.ts';
import { jobRoutes } from './jobs.ts';
import { metricsRoute } from './metrics.ts';
import { nativeQueues } from './native-queues.ts';
import { queueSettings } from './queue-settings.ts';
import { nativeTopics } from './native-topics.ts';
import { openapiOptions } from './openapi.ts';
import { overviewRoutes } from './overview.ts';
import { maxNameLength } from './schemas.ts';
import { uiRoutes } from './ui.ts';
import { workerBeatRoutes } from './worker-beats.ts';
import {
  ClosedError,
  errorCodes,
  ExpectationFailedError,
  NotFoundError,
  SpoolError,
  UnsupportedMediaTypeError,
} from '../../index.ts';

export interface HttpOptions {
  readonly spool: Spool;
  /** No tokens: every request is allowed (bind to 127.0.0.1 then, the default). */
  readonly tokens: readonly TokenGrant[];
  /** Largest request body, in bytes; batch routes allow 8 times as much. */
  readonly bodyLimit: number;
  /** Longest long-poll, in ms. */
  readonly maxWaitMs: number;
  readonly limits: ConnectionLimits;
  readonly logger: FastifyBaseLogger | false;
  /** Request lines at info instead of debug. */
  readonly accessLog: boolean;
  readonly version: string;
  /** Queues /metrics reports counts for from the start, besides those the server sees used. */
  readonly metricsQueues: readonly string[];
}

export interface HttpServer {
  readonly app: FastifyInstance;
  /** Stops accepting, answers pending long-polls, waits for requests in flight. Leaves the spool open. */
  close(): Promise<void>;
}

/** Open without a token: the dashboard's page is too, as all it shows comes from /v1 routes that need one. */
const publicPaths = ['/healthz', '/docs', '/openapi.json', '/ui'];

/** A Content-Encoding header that leaves the body as it is: none, or only `identity`. */
const identity = (encoding: string): boolean =>
  encoding.split(',').every((coding) => ['', 'identity'].includes(coding.trim().toLowerCase()));

/** pino's levels, most verbose first: the access log's hook is added only when its level is on. */
const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export async function httpServer(options: HttpOptions): Promise<HttpServer> {
  const closing = new AbortController();
  // Each long-poll waiting listens on it (and stops when it answers): as many as are waiting is
  // no leak, so node's warning past 10 would only fill the log.
  setMaxListeners(0, closing.signal);
  const context: Context = {
    spool: options.spool,
    closing: closing.signal,
    maxWaitMs: options.maxWaitMs,
    bodyLimit: options.bodyLimit,
    oneJobBodyLimit: oneJobBodyLimit(options.bodyLimit, options.spool.maxPayloadBytes),
  };
  const guard = new Guard(options.tokens);
  const app = fastify({
    bodyLimit: options.bodyLimit,
    ...timeoutOptions(options.limits),
    // Every legal name on every route, even with each character percent-encoded (issue 20: names
    // of 101-200 characters got fastify's 414 at its default of 100).
    routerOptions: { maxParamLength: 3 * maxNameLength },
    // What the router refuses (a bad escape, a parameter past that length) answers in spool's shape too.
    frameworkErrors: (error, request, reply) => {
      void answerError(error, request, reply);
    },
    clientErrorHandler: clientErrorAnswer(options.limits),
    ...(options.logger === false ? { logger: false } : { loggerInstance: options.logger }),
    // Schemas check, they do not repair: an extra field or a "5" for 5 is refused, not coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    forceCloseConnections: 'idle',
    // A log line per request costs more than the request at thousands a second; failures are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Nor a child logger per request (pino's child() was ~10% of a publish): failures name their request id.
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
  });
  app.decorateRequest('principal', null);
  // A DELETE or GET that carries `Content-Type: application/json` and no body (as many HTTP
  // clients send) is a request without a body, not malformed JSON; a route that needs a body
  // still refuses it through its schema.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // Bodies are JSON only: fastify's text/plain parser would hand a string to a schema expecting
  // an object, a 400 for what is a 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') done(null, undefined);
    else void json(request, text, done);
  });

  // Nothing here decompresses (a gzip body went to the JSON parser and was a 400 'not valid JSON'),
  // so a content coding is refused before the body is read: refused after, a compressed body
  // over the limit was a 413, which never told the client that the coding was the problem.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding']?.trim() ?? '';
    if (identity(encoding)) done(null, payload);
    else done(new UnsupportedMediaTypeError(request.headers['content-type'] ?? '', encoding));
  });

  await app.register(swagger, openapiOptions(options.version, guard.enabled));
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Without tokens every request is allowed: no hooks then, as each costs every request.
  if (guard.enabled) guardRequests(app, guard);
  const accessLevel = options.accessLog ? 'info' : 'debug';
  if (options.logger !== false && levels.indexOf(options.logger.level) <= levels.indexOf(accessLevel))
    logRequests(app, accessLevel);

  const answerError = (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const bodyLimit = request.routeOptions.bodyLimit ?? options.bodyLimit;
    const f = failure(error, bodyLimit, request.headers['content-type'] ?? '', request.id);
    if (f.cause !== null) request.log.error({ err: f.cause, reqId: request.id }, 'request failed');
    const blockQueue =
      request.routeOptions.config.envelope === 'blockqueue' ||
      (request.routeOptions.url === undefined && blockQueuePath(request.url));
    const body = failureBody(error, f, blockQueue);
    // RFC 7694: a 415 for a content coding names the ones the server takes.
    if (error instanceof UnsupportedMediaTypeError && error.contentEncoding !== null)
      void reply.header('accept-encoding', 'identity');
    return reply.code(f.status).send(body);
  };
  app.setErrorHandler(answerError);
  app.setNotFoundHandler((request, reply) =>
    answerError(new NotFoundError('route', `${request.method} ${request.url.split('?')[0] ?? ''}`), request, reply),
  );

  app.get('/healthz', { schema: { hide: true } }, async (request, reply) => {
    const health = await options.spool.health();
    if (health.ok) return { ok: true };
    request.log.error({ reason: health.reason }, 'unhealthy');
    // The reason may name the data directory or the Redis host: only for a caller the server trusts.
    const reason = guard.trusts(request.headers.authorization) ? health.reason : 'see the server log';
    return reply.code(503).send({ ok: false, reason });
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  auditRoutes(app, options.spool, guard.enabled);
  nativeQueues(app, context);
  queueSettings(app, context);
  jobRoutes(app, context);
  overviewRoutes(app, context);
  workerBeatRoutes(app, context);
  uiRoutes(app, guard);
  nativeTopics(app, context);
  blockQueueRoutes(app, context);
  metricsRoute(app, context, options.metricsQueues);

  // Long-polls answer now (with nothing) so that close does not wait out their time-outs.
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  // An answer sent while closing ends its connection: a kept-alive socket would hold the
  // process open for the whole keep-alive time-out after the server closed.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing.signal.aborted) void reply.header('connection', 'close');
    done(null, payload);
  });
  await app.ready();
  app.server.maxConnections = options.limits.maxConnections;
  // Node answers an Expect other than 100-continue itself, with a bare 417 and no body.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    answerUnrouted(request, response, new ExpectationFailedError(request.headers.expect ?? ''));
  });
  // While closing, fastify answers a request on a kept-alive connection with a 503 of its own
  // shape ({"error":"Service Unavailable","statusCode":503}): spool's comes first. Its own
  // request listener is app.routing, wrapped here rather than given a hook every request pays for;
  // only when it is the server's one listener, so a fastify that routes otherwise is left as it is.
  const listeners = app.server.listeners('request');
  if (listeners.length === 1 && listeners[0] === app.routing) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the listener itself, to remove; it uses no `this`
    app.server.off('request', app.routing);
    app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (!closing.signal.aborted) return app.routing(request, response);
      app.log.info({ res: { statusCode: 503 } }, 'request refused: the server is closing');
      answerUnrouted(request, response, new ClosedError('server'));
    });
  }
  return {
    app,
    // Closing from here on, before fastify's close takes its first step, so no request meets its 503.
    close: () => {
      closing.abort();
      return app.close();
    },
  };
}

/** BlockQueue's routes are all under /topics (spool's own topics are under /v1). */
const blockQueuePath = (url: string): boolean => url.startsWith('/topics');

/** A failure's body in its route's envelope: BlockQueue's `{ message, error }` on BlockQueue's routes, spool's elsewhere. */
function failureBody(error: unknown, f: Failure, blockQueue: boolean): object {
  if (!blockQueue) return errorBody(f);
  return error instanceof SpoolError
    ? blockQueueError(error, f.status, f.message)
    : { message: 'failure', error: f.message };
}

/**
 * Answers a request that no route will see with `error` in the JSON envelope of its path, and ends
 * its connection. The error is the server's own, whose message names nothing of the host: sent
 * whatever its status.
 */
function answerUnrouted(request: IncomingMessage, response: ServerResponse, error: SpoolError): void {
  const status = errorCodes[error.code].httpStatus;
  const f: Failure = { status, code: error.code, message: error.message, details: error.details, cause: null };
  const body = JSON.stringify(failureBody(error, f, blockQueuePath(request.url ?? '')));
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}

/** The access log: one line per answered request, with the route's pattern rather than its ids. */
function logRequests(app: FastifyInstance, level: 'info' | 'debug'): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log[level](
      {
        reqId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
    done();
  });
}

function guardRequests(app: FastifyInstance, guard: Guard): void {
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      // By its path: `/healthz?probe=1` is the health route as much as `/healthz` is.
      const path = request.url.split('?', 1)[0] as string;
      if (!publicPaths.some((p) => path === p || path.startsWith(`${p}/`)))
        request.principal = guard.authenticate(request.headers.authorization);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
  // After validation, so the names the route touches come from a checked request.
  app.addHook('preHandler', (request, _reply, done) => {
    try {
      const { need, names } = request.routeOptions.config;
      if (need !== undefined) Guard.allow(request.principal, need, names?.(request) ?? []);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
}
