// The OpenAPI document at /openapi.json and /docs: @fastify/swagger derives paths, parameters
// and request bodies from the routes' schemas; this module adds what a reader needs and the
// routes do not say: an operationId, a tag and a summary per operation, the answer's schema
// (documentation only: the routes serialise as they did), every error answer with its shape,
// and examples, from the table in openapi-operations.ts, so the route files keep to their handlers.
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { errorDetailFields } from '../../index.ts';
import type { ErrorCode } from '../../index.ts';
import { nullable, object, strings } from './openapi-answers.ts';
import type { Schema } from './openapi-answers.ts';
import { operations, requestExamples } from './openapi-operations.ts';

/** A field of `details` as errorDetailFields writes its JSON type. */
function detailField(type: string | readonly string[]): Schema {
  if (typeof type !== 'string') return { type: 'string', enum: [...type] };
  if (type === 'string[]') return strings;
  if (type === 'string|null') return nullable({ type: 'string' });
  return { type };
}

const codes = Object.keys(errorDetailFields) as ErrorCode[];
const errorSchemaName = (code: ErrorCode) => `Error_${code}`;

/** One schema per code: its `details` are that code's fields, all of them always present. */
const errorSchemas = Object.fromEntries(
  codes.map((code) => [
    errorSchemaName(code),
    object(
      {
        code: { type: 'string', enum: [code], description: 'stable: match on it (docs/errors.md)' },
        message: { type: 'string', description: 'for people; may change' },
        details: object(
          Object.fromEntries(
            Object.entries(errorDetailFields[code] as Record<string, string | readonly string[]>).map(
              ([field, type]) => [field, detailField(type)],
            ),
          ),
          "the error's fields: a client rebuilds the error from `code` and these, never from `message`",
        ),
      },
      `a ${code} error`,
    ),
  ]),
);

const errorShape = object({
  error: {
    oneOf: codes.map((code) => ({ $ref: `#/components/schemas/${errorSchemaName(code)}` })),
    discriminator: {
      propertyName: 'code',
      mapping: Object.fromEntries(codes.map((code) => [code, `#/components/schemas/${errorSchemaName(code)}`])),
    },
    example: {
      code: 'VALIDATION',
      message: 'body.options.delay: is not a duration',
      details: { field: 'body.options.delay', problem: 'is not a duration' },
    },
  },
});
const bqErrorShape = object({ message: { type: 'string', example: 'failure' }, error: { type: 'string' } });

const errorMeaning: Record<number, string> = {
  400: 'the request is invalid (VALIDATION): a field, parameter or the JSON itself',
  401: 'no or an unknown bearer token (UNAUTHORIZED), when the server has tokens',
  403: 'the token lacks the scope or the queue/topic prefix (FORBIDDEN)',
  404: 'no such job, lease, topic or subscription (NOT_FOUND)',
  409: 'the lease was lost, or the topic or subscription exists (LEASE_LOST, EXISTS)',
  413: 'the body is over the limit (TOO_LARGE)',
  415: 'the body is not application/json, or is compressed (UNSUPPORTED_MEDIA_TYPE)',
  429: 'the queue is at its maxLength (QUEUE_FULL)',
  500: 'the store failed (STORAGE) or a bug (INTERNAL); the message says to see the server log and names the request id the failure is logged under',
  503: 'the server is closing or the store is locked (CLOSED, LOCKED)',
};

const always = [400, 401, 403, 500, 503];

interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown; example?: unknown }> };
  responses?: Record<string, { description: string; content?: Record<string, { schema: unknown; example?: unknown }> }>;
}

/** `required: []` is invalid in OpenAPI 3.0 (an array of at least one name): drops it everywhere. */
function dropEmptyRequired(value: unknown): void {
  if (Array.isArray(value)) value.forEach(dropEmptyRequired);
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (Array.isArray(record.required) && record.required.length === 0) delete record.required;
    Object.values(record).forEach(dropEmptyRequired);
  }
}

function describe(path: string, method: string, op: OpenApiOperation): void {
  const known = operations[`${method.toUpperCase()} ${path}`];
  if (known === undefined) throw new Error(`openapi: no description for ${method.toUpperCase()} ${path}`);
  op.operationId = known.id;
  op.tags = [known.tag];
  op.summary = known.summary;
  const json = (schema: unknown, example?: unknown) => ({
    'application/json': example === undefined ? { schema } : { schema, example },
  });
  const status = String(known.status ?? 200);
  const responses: NonNullable<OpenApiOperation['responses']> = {
    [status]: { description: known.summary, content: json(known.answer, known.example) },
  };
  const envelope = known.tag === 'blockqueue' ? bqErrorShape : { $ref: '#/components/schemas/Error' };
  // Any body may be over its limit and, on spool's own routes (BlockQueue's read any as JSON), not JSON.
  const bodied = op.requestBody === undefined ? [] : known.tag === 'blockqueue' ? [413] : [413, 415];
  for (const code of [...new Set([...always, ...bodied, ...(known.errors ?? [])])].sort())
    responses[String(code)] = { description: errorMeaning[code] ?? 'an error', content: json(envelope) };
  op.responses = responses;
  const body = op.requestBody?.content?.['application/json'];
  if (body !== undefined && requestExamples[known.id] !== undefined) body.example = requestExamples[known.id];
  // Without a body it retries every dead job: the body is optional (issue 19).
  if (known.id === 'retryDeadJobs' && op.requestBody !== undefined) op.requestBody.required = false;
}

export function openapiOptions(version: string, tokens: boolean): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      info: {
        title: 'spool',
        version,
        description:
          "spool's HTTP API: queues and jobs, leases, topics under /v1, and BlockQueue's routes unchanged under /topics. Errors answer `{ error: { code, message, details } }`, `details` holding the fields of that code's error (BlockQueue's routes: `{ message, error }`).",
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: '/', description: 'this server' }],
      tags: [
        { name: 'jobs', description: 'add, read, wait for and remove jobs' },
        { name: 'leases', description: 'lease jobs, then ack, nack, release, requeue or extend them by their token' },
        { name: 'queues', description: 'inspect and administer a queue' },
        { name: 'topics', description: 'topics, subscriptions and publishing' },
        { name: 'dashboard', description: 'what the dashboard at /ui shows: overview, workers, audit log' },
        { name: 'blockqueue', description: "BlockQueue's classic API, unchanged" },
      ],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: { Error: errorShape, ...errorSchemas },
      },
      security: tokens ? [{ bearer: [] }] : [],
    },
    transformObject: (document) => {
      // Only an OpenAPI document is asked for (the `openapi` option), never Swagger 2.
      if (!('openapiObject' in document)) return document.swaggerObject;
      const { openapiObject } = document;
      const paths = (openapiObject as { paths?: Record<string, Record<string, OpenApiOperation>> }).paths ?? {};
      for (const [path, methods] of Object.entries(paths))
        for (const [method, op] of Object.entries(methods)) describe(path, method, op);
      dropEmptyRequired(openapiObject);
      return openapiObject;
    },
  };
}
