// The OpenAPI document a client generator or a reader gets: clean under Redocly's recommended
// rules, every operation named, tagged and summarised, every answer and error described, and
// the described answers are the ones the server sends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv } from 'ajv';
import { start } from './server/harness.ts';
import type { Answer, Running } from './server/harness.ts';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  requestBody?: { required?: boolean };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const token = 'admin-token-0123456789';
let s: Running;
let doc: Document;
before(async () => {
  s = await start({ tokens: [{ token, scopes: ['admin'], prefix: '' }] });
  doc = (await s.call('GET', '/openapi.json')).body as Document;
});
after(() => s.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, path, op })),
  );

void test("Redocly's recommended rules find nothing, errors or warnings", async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
  assert.deepEqual(
    problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`),
    [],
  );
  assert.deepEqual((await s.call('GET', '/docs/json')).body, doc);
});

void test('every operation has a unique operationId, a tag, a summary, its answer and its errors with their shape', () => {
  const ops = operations();
  assert.equal(ops.length, 57);
  assert.equal(new Set(ops.map(({ op }) => op.operationId)).size, ops.length);
  for (const { route, path, op } of ops) {
    assert.ok(op.operationId !== undefined && op.summary !== undefined && op.tags?.length === 1, route);
    const statuses = Object.keys(op.responses);
    const success = statuses.filter((code) => code.startsWith('2'));
    assert.equal(success.length, 1, route);
    assert.ok(op.responses[success[0] as string]?.content?.['application/json']?.schema !== undefined, route);
    for (const code of ['400', '401', '403', '500']) assert.ok(statuses.includes(code), `${route}: no ${code}`);
    const error = op.responses['400']?.content?.['application/json']?.schema;
    assert.deepEqual(
      error,
      path.startsWith('/v1/')
        ? { $ref: '#/components/schemas/Error' }
        : {
            type: 'object',
            required: ['message', 'error'],
            properties: { message: { type: 'string', example: 'failure' }, error: { type: 'string' } },
          },
      route,
    );
  }
  assert.doesNotMatch(JSON.stringify(doc), /"required":\[\]/);
});

/**
 * `schema` with every object that lists its properties closed to others: an answer's field the
 * document does not name is one a generated client drops (a listing's cursor, say).
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema))
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([name, field]) => [name, closed(field)]))
        : closed(value);
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

void describe('answers match the document', () => {
  const ajv = new Ajv({ strict: false });
  const auth = { authorization: `Bearer ${token}` };
  /** Calls the route and checks the answer against the schema the document gives its status. */
  const check = async (method: string, template: string, path: string, body?: unknown): Promise<Answer> => {
    const answer = await s.call(method, path, body, auth);
    const schema =
      doc.paths[template]?.[method.toLowerCase()]?.responses[String(answer.status)]?.content?.['application/json']
        ?.schema;
    assert.ok(schema !== undefined, `${method} ${template}: ${answer.status} is not documented (${answer.text})`);
    const components = closed((doc as { components?: unknown }).components);
    const valid = ajv.validate({ ...(closed(schema) as object), components }, answer.body);
    assert.ok(valid, `${method} ${path} → ${answer.text}: ${ajv.errorsText()}`);
    return answer;
  };

  void test('jobs, leases, queues, topics and BlockQueue routes, successes and errors', async () => {
    const { id } = (await check('POST', '/v1/queues/{queue}/jobs', '/v1/queues/mail/jobs', { data: 1 })).body as {
      id: string;
    };
    await check('POST', '/v1/queues/{queue}/jobs/batch', '/v1/queues/mail/jobs/batch', { jobs: [{ data: 2 }] });
    await check('GET', '/v1/queues/{queue}/jobs/{id}', `/v1/queues/mail/jobs/${id}`);
    await check('GET', '/v1/queues/{queue}/jobs/{id}', '/v1/queues/mail/jobs/nope');
    await check('GET', '/v1/queues/{queue}/peek', '/v1/queues/mail/peek?n=2');
    await check('GET', '/v1/queues/{queue}/counts', '/v1/queues/mail/counts');
    const leased = (await check('POST', '/v1/lease', '/v1/lease', { queues: ['mail'], max: 2 })).body as {
      jobs: { token: string }[];
    };
    const [first, second] = leased.jobs.map((j) => j.token);
    await check('POST', '/v1/extend', '/v1/extend', { token: first });
    await check('POST', '/v1/ack', '/v1/ack', { token: first, result: 'sent' });
    await check('POST', '/v1/ack', '/v1/ack', { token: first });
    await check('POST', '/v1/nack', '/v1/nack', { token: second, dead: true });
    await check('GET', '/v1/queues/{queue}/jobs/{id}/result', `/v1/queues/mail/jobs/${id}/result`);
    await check('DELETE', '/v1/queues/{queue}/jobs/{id}', `/v1/queues/mail/jobs/${id}`);
    await check('DELETE', '/v1/queues/{queue}/jobs/{id}', `/v1/queues/mail/jobs/${id}`);
    // Unlimited attempts: null in a job and in a leased job alike.
    await check('PUT', '/v1/queues/{queue}/settings', '/v1/queues/forever/settings', { maxAttempts: null });
    await check('POST', '/v1/queues/{queue}/jobs', '/v1/queues/forever/jobs', { data: 1 });
    await check('GET', '/v1/queues/{queue}/peek', '/v1/queues/forever/peek');
    await check('POST', '/v1/lease', '/v1/lease', { queues: ['forever'] });
    await check('GET', '/v1/queues/{queue}/dead', '/v1/queues/mail/dead');
    await check('POST', '/v1/queues/{queue}/dead/retry', '/v1/queues/mail/dead/retry');
    await check('POST', '/v1/queues/{queue}/pause', '/v1/queues/mail/pause');
    await check('POST', '/v1/queues/{queue}/jobs', '/v1/queues/mail/jobs', { data: 1, delay: '5m' });
    await check('POST', '/v1/topics', '/v1/topics', { name: 'orders', subscribers: { billing: {} } });
    await check('PUT', '/v1/topics/{topic}/subscribers/{subscriber}', '/v1/topics/orders/subscribers/email', {});
    await check('POST', '/v1/topics/{topic}/messages', '/v1/topics/orders/messages', { data: { order: 42 } });
    await check('GET', '/v1/topics/{topic}', '/v1/topics/orders');
    await check('GET', '/v1/topics/{topic}/status', '/v1/topics/orders/status');
    await check('GET', '/v1/topics', '/v1/topics');
    await check('POST', '/topics', '/topics', { name: 'cart', subscribers: [{ name: 'counter' }] });
    await check('POST', '/topics/{topic}/messages', '/topics/cart/messages', { message: 'hi' });
    await check('GET', '/topics/{topic}/subscribers', '/topics/cart/subscribers');
    await check(
      'GET',
      '/topics/{topic}/subscribers/{subscriber}/messages',
      '/topics/cart/subscribers/counter/messages',
    );
    await check('GET', '/topics/{topic}/subscribers/{subscriber}', '/topics/cart/subscribers/counter?timeout=1ms');
    await check('GET', '/topics', '/topics');
    await check('DELETE', '/topics/{topic}', '/topics/nope');
  });
});

void test('every route that takes a body documents its 413 and, on /v1, its 415, as the server answers them', async () => {
  for (const { route, path, op } of operations())
    if (op.requestBody !== undefined)
      for (const code of path.startsWith('/v1/') ? ['413', '415'] : ['413'])
        assert.ok(op.responses[code] !== undefined, `${route}: no ${code}`);
  const auth = { authorization: `Bearer ${token}` };
  const notJson = await fetch(`${s.base}/v1/queues/q/settings`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'text/plain' },
    body: 'maxLength=1',
  });
  assert.equal(notJson.status, 415);
  assert.ok(doc.paths['/v1/queues/{queue}/settings']?.put?.responses['415'] !== undefined);
  const large = await s.call('PUT', '/v1/workers/p', { host: 'h'.repeat(2 << 20) }, auth);
  assert.equal(large.status, 413);
  assert.ok(doc.paths['/v1/workers/{id}']?.put?.responses['413'] !== undefined);
});

void test('a dead-letter retry needs no body: without one it retries every dead job', async () => {
  const auth = { authorization: `Bearer ${token}` };
  await s.call('POST', '/v1/queues/retry/jobs', { data: 1, options: { maxAttempts: 1 } }, auth);
  const { jobs } = (await s.call('POST', '/v1/lease', { queues: ['retry'] }, auth)).body as {
    jobs: { token: string }[];
  };
  await s.call('POST', '/v1/nack', { token: jobs[0]?.token, dead: true }, auth);
  const response = await fetch(`${s.base}/v1/queues/retry/dead/retry`, { method: 'POST', headers: auth });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { retried: 1 });
  const op = doc.paths['/v1/queues/{queue}/dead/retry']?.post;
  assert.equal(op?.requestBody?.required, false);
});
