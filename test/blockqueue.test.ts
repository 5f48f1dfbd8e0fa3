// BlockQueue's classic routes served by spool: the curl examples of BlockQueue's README run
// as written (host and placeholders filled in) with the real curl, then the semantics the
// research file lists: envelope, status codes, long-poll time-out, redelivery, attempts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { start } from './server/harness.ts';
import type { Answer, Running } from './server/harness.ts';

const readme = readFileSync(new URL('fixtures/blockqueue-readme.txt', import.meta.url), 'utf8');

/** Each curl command of the README: from `curl` to the line where its quotes close. */
function curlExamples(text: string): string[] {
  const commands: string[] = [];
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    if (current === null && !line.startsWith('curl ')) continue;
    (current ??= []).push(line);
    // The README's DELETE example opens with '' (an empty string, then an unclosed quote):
    // as written it is a shell syntax error, so its doubled quote is read as one.
    const joined = current.join('\n').replace("''http", "'http");
    if ((joined.match(/'/g) ?? []).length % 2 === 0 && !line.endsWith('\\')) {
      commands.push(joined);
      current = null;
    }
  }
  return commands;
}

const body = (answer: Answer) => answer.body as { message: string; data?: unknown; error?: string };

void describe("BlockQueue's README, curl by curl", () => {
  let s: Running;
  before(async () => {
    s = await start();
  });
  after(() => s.close());

  void test('every curl example works as written', async () => {
    const examples = curlExamples(readme);
    assert.equal(examples.length, 7);
    const host = s.base.replace('http://', '');
    // curl runs as a child process while this process serves it: never a *Sync call here.
    const run = async (command: string, placeholders: Record<string, string>): Promise<Answer> => {
      let filled = command.replaceAll('http://your-host', s.base).replaceAll('localhost:8080', host);
      for (const [name, value] of Object.entries(placeholders)) filled = filled.replaceAll(`{${name}}`, value);
      const { stdout: out } = await promisify(execFile)('sh', [
        '-c',
        `${filled} --silent --write-out '\\n%{http_code}'`,
      ]);
      const at = out.lastIndexOf('\n');
      const text = out.slice(0, at);
      return { status: Number(out.slice(at + 1)), body: JSON.parse(text) as unknown, text };
    };
    const [create, addSubscribers, deleteSubscriber, publish, read, ack, status] = examples as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const cart = { topic_name: 'cart', your_topic: 'cart' };

    assert.deepEqual((await run(create, cart)).body, { message: 'success' });
    assert.deepEqual((await run(addSubscribers, cart)).body, { message: 'success' });
    assert.deepEqual((await run(deleteSubscriber, { ...cart, subscriber_name: 'created' })).body, {
      message: 'success',
    });
    assert.deepEqual((await run(publish, cart)).body, { message: 'success' });
    const got = await run(read, { ...cart, subscriber_name: 'counter' });
    assert.equal(got.status, 200);
    const data = body(got).data as { id: string; message: string }[];
    assert.equal(data.length, 1);
    assert.equal(data[0]?.message, 'hi message from topic cart');
    const messageId = data[0]?.id ?? '';
    assert.deepEqual((await run(ack, { ...cart, subscriber_name: 'counter', message_id: messageId })).body, {
      message: 'success',
    });
    assert.deepEqual((await run(status, cart)).body, {
      message: 'success',
      data: [{ topic_id: 'cart', name: 'counter', unpublished_message: 0, unacked_message: 0 }],
    });
  });
});

void describe('BlockQueue routes: semantics', () => {
  let s: Running;
  before(async () => {
    s = await start();
  });
  after(() => s.close());

  const topic = async (name: string, subscribers: unknown[]) =>
    assert.equal((await s.call('POST', '/topics', { name, subscribers })).status, 200);

  void test('errors keep the envelope: 404 topic, 409 name taken, 404 subscriber and message, one 400 for a bad timeout', async () => {
    await topic('errs', [{ name: 'sub' }]);
    const taken = await s.call('POST', '/topics', { name: 'errs', subscribers: [] });
    assert.equal(taken.status, 409);
    assert.deepEqual(taken.body, { message: 'Conflict', error: 'topic was exist' });
    const noTopic = await s.call('GET', '/topics/none/subscribers');
    assert.equal(noTopic.status, 404);
    assert.deepEqual(noTopic.body, { message: 'not found', error: 'topic not found' });
    const noSubscriber = await s.call('GET', '/topics/errs/subscribers/ghost?timeout=1s');
    assert.equal(noSubscriber.status, 404);
    assert.deepEqual(noSubscriber.body, { message: 'not found', error: 'listener not found' });
    assert.equal((await s.call('DELETE', '/topics/errs/subscribers/ghost')).status, 404);
    const noMessage = await s.call('DELETE', '/topics/errs/subscribers/sub/messages/12345');
    assert.equal(noMessage.status, 404);
    assert.deepEqual(noMessage.body, { message: 'not found', error: 'message not found' });
    for (const query of ['?timeout=abc', '']) {
      const bad = await s.call('GET', `/topics/errs/subscribers/sub${query}`);
      assert.equal(bad.status, 400);
      assert.equal(body(bad).message, 'failure');
      // One JSON document (BlockQueue appends a second one).
      assert.doesNotThrow(() => JSON.parse(bad.text));
    }
    assert.match(
      body(await s.call('GET', '/topics/errs/subscribers/sub?timeout=abc')).error ?? '',
      /time: invalid duration "abc"/,
    );
    const malformed = await s.call('POST', '/topics', '{"name": ');
    assert.equal(malformed.status, 400);
    assert.equal(body(malformed).message, 'failure');
    const wrongType = await s.call('POST', '/topics/errs/messages', { message: 5 });
    assert.equal(wrongType.status, 400);
    assert.equal(body(wrongType).message, 'failure');
    // A DELETE with a JSON content type and no body, as many clients send it, is fine.
    const response = await fetch(`${s.base}/topics/errs`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.status, 200);
    assert.equal((await s.call('POST', '/topics/errs/messages', { message: 'x' })).status, 404);
  });

  void test("a Go client's nil subscribers (null) make a topic with none; a '+' before a duration is read as Go reads it", async () => {
    assert.equal((await s.call('POST', '/topics', { name: 'gonil', subscribers: null })).status, 200);
    const listed = body(await s.call('GET', '/topics/gonil/subscribers'));
    assert.equal(listed.message, 'success');
    assert.deepEqual(
      listed.data ?? [],
      [],
      'no subscribers (data is left out when there are none, as Go leaves out a nil slice)',
    );
    await topic('signed', [{ name: 's', option: { visibility_duration: '+2s' } }]);
    // %2B: a bare '+' in a query string is a space, to Go as here.
    const started = Date.now();
    assert.deepEqual(body(await s.call('GET', '/topics/signed/subscribers/s?timeout=%2B200ms')).data, []);
    assert.ok(Date.now() - started >= 190);
    assert.equal((await s.call('GET', '/topics/signed/subscribers/s?timeout=-1s')).status, 400);
  });

  void test('a Go client\'s zero-value option (max_attempts 0, visibility_duration "") gets BlockQueue\'s defaults', async () => {
    // BlockQueue's pkg/io.SubscriberOpt has no omitempty: a subscriber made without options is
    // sent so, and BlockQueue reads it as absent (1 delivery, 5m). It was a 400.
    const zero = { max_attempts: 0, visibility_duration: '' };
    const created = await s.call('POST', '/topics', { name: 'gozero', subscribers: [{ name: 'a', option: zero }] });
    assert.equal(created.status, 200, created.text);
    const added = await s.call('POST', '/topics/gozero/subscribers', [{ name: 'b', option: zero }]);
    assert.equal(added.status, 200, added.text);
    const { subscribers } = await s.spool.topic('gozero').info();
    assert.deepEqual(
      subscribers.map((sub) => [sub.name, sub.maxAttempts, sub.visibilityMs]),
      [
        ['a', 1, 300_000],
        ['b', 1, 300_000],
      ],
    );
  });

  void test('a body is read as JSON whatever its Content-Type, as BlockQueue reads it (curl -d, a Go request without the header)', async () => {
    // BlockQueue decodes every body with json.NewDecoder and never looks at the header; these were 415s.
    const send = async (method: string, path: string, text: string, contentType?: string) => {
      const response = await fetch(s.base + path, {
        method,
        headers: contentType === undefined ? {} : { 'content-type': contentType },
        body: new TextEncoder().encode(text),
      });
      return { status: response.status, body: (await response.json()) as { message: string; error?: string } };
    };
    const form = 'application/x-www-form-urlencoded';
    const made = await send('POST', '/topics', '{"name":"anytype","subscribers":[{"name":"a"}]}', form);
    assert.deepEqual(made, { status: 200, body: { message: 'success' } });
    assert.equal((await send('POST', '/topics/anytype/subscribers', '[{"name":"b"}]', 'text/plain')).status, 200);
    assert.equal((await send('POST', '/topics/anytype/messages', '{"message":"one"}')).status, 200);
    assert.equal((await send('POST', '/topics/anytype/messages/batch', '[{"message":"two"}]', form)).status, 200);
    const read = body(await s.call('GET', '/topics/anytype/subscribers/a?timeout=1s')).data as { id: string }[];
    assert.equal(read.length, 2);
    const ids = JSON.stringify(read.map((m) => m.id));
    assert.equal((await send('DELETE', '/topics/anytype/subscribers/a/messages/batch', ids, 'text/plain')).status, 200);
    // Still JSON: what is not is the 400 BlockQueue answers.
    const bad = await send('POST', '/topics/anytype/messages', 'message=three', form);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'failure');
    assert.deepEqual(body(await s.call('GET', '/topics/anytype/subscribers')).data, [
      { topic_id: 'anytype', name: 'a', unpublished_message: 0, unacked_message: 0 },
      { topic_id: 'anytype', name: 'b', unpublished_message: 2, unacked_message: 0 },
    ]);
  });

  void test('a read waiting while its subscriber or topic is deleted answers 404, as BlockQueue answers "listener was deleted"', async () => {
    await topic('gone', [{ name: 'a' }, { name: 'b' }]);
    await topic('gone2', [{ name: 'c' }]);
    const readA = s.call('GET', '/topics/gone/subscribers/a?timeout=1s');
    const readC = s.call('GET', '/topics/gone2/subscribers/c?timeout=1s');
    // Both reads waiting (past their subscriber's check) before the deletes.
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal((await s.call('DELETE', '/topics/gone/subscribers/a')).status, 200);
    assert.equal((await s.call('DELETE', '/topics/gone2')).status, 200);
    const a = await readA;
    assert.equal(a.status, 404, a.text);
    assert.deepEqual(a.body, { message: 'not found', error: 'listener not found' });
    const c = await readC;
    assert.equal(c.status, 404, c.text);
    assert.deepEqual(c.body, { message: 'not found', error: 'topic not found' });
    // A subscriber left in place still answers an empty read with success.
    assert.deepEqual(body(await s.call('GET', '/topics/gone/subscribers/b?timeout=0')), {
      message: 'success',
      data: [],
    });
  });

  void test('a HEAD of the read route reads nothing', async () => {
    await topic('head', [{ name: 's', option: { max_attempts: 1 } }]);
    await s.call('POST', '/topics/head/messages', { message: 'kept' });
    const head = await fetch(`${s.base}/topics/head/subscribers/s?timeout=10ms`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.deepEqual(body(await s.call('GET', '/topics/head/subscribers')).data, [
      { topic_id: 'head', name: 's', unpublished_message: 1, unacked_message: 0 },
    ]);
    const read = body(await s.call('GET', '/topics/head/subscribers/s?timeout=1s')).data as { message: string }[];
    assert.deepEqual(
      read.map((m) => m.message),
      ['kept'],
    );
  });

  void test('a read with nothing to read waits out its timeout and answers data: []', async () => {
    await topic('quiet', [{ name: 's' }]);
    const started = Date.now();
    const answer = await s.call('GET', '/topics/quiet/subscribers/s?timeout=300ms');
    assert.ok(Date.now() - started >= 290);
    assert.deepEqual(answer.body, { message: 'success', data: [] });
  });

  void test('a waiting read answers as soon as a message is published; at most 10 per read, FIFO', async () => {
    await topic('fast', [{ name: 's' }]);
    const waiting = s.call('GET', '/topics/fast/subscribers/s?timeout=10s');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await s.call('POST', '/topics/fast/messages', { message: 'first' });
    assert.deepEqual(
      (body(await waiting).data as { message: string }[]).map((m) => m.message),
      ['first'],
    );
    await s.call(
      'POST',
      '/topics/fast/messages/batch',
      Array.from({ length: 12 }, (_, i) => ({ message: `m${i}` })),
    );
    const read = body(await s.call('GET', '/topics/fast/subscribers/s?timeout=1s')).data as { message: string }[];
    assert.deepEqual(
      read.map((m) => m.message),
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
  });

  void test('an unacked message comes back after visibility_duration, max_attempts deliveries in all, then dead-letter', async () => {
    await topic('retry', [{ name: 's', option: { max_attempts: 2, visibility_duration: '300ms' } }]);
    await s.call('POST', '/topics/retry/messages', { message: 'again' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const read = body(await s.call('GET', '/topics/retry/subscribers/s?timeout=700ms')).data as { id: string }[];
      ids.push(...read.map((m) => m.id));
    }
    assert.equal(ids.length, 2);
    assert.equal(ids[0], ids[1], 'the id stays the same across redeliveries');
    const dlq = body(await s.call('GET', '/topics/retry/subscribers/s/dlq')).data as { id: string; status: string }[];
    assert.deepEqual(
      dlq.map((m) => [m.id, m.status]),
      [[ids[0], 'dead_letter']],
    );
    assert.equal((await s.call('POST', `/topics/retry/subscribers/s/dlq/${ids[0]}/replay`)).status, 200);
    const listed = body(await s.call('GET', '/topics/retry/subscribers/s/messages')).data as { status: string }[];
    assert.deepEqual(
      listed.map((m) => m.status),
      ['pending'],
    );
  });

  void test('fan-out: each subscriber acks its own copy; batch ack; status counts unpublished and unacked', async () => {
    await topic('fan', [{ name: 'a' }, { name: 'b' }]);
    await s.call('POST', '/topics/fan/messages/batch', [{ message: '1' }, { message: '2' }]);
    const read = body(await s.call('GET', '/topics/fan/subscribers/a?timeout=1s')).data as { id: string }[];
    assert.equal(read.length, 2);
    assert.deepEqual(body(await s.call('GET', '/topics/fan/subscribers')).data, [
      { topic_id: 'fan', name: 'a', unpublished_message: 0, unacked_message: 2 },
      { topic_id: 'fan', name: 'b', unpublished_message: 2, unacked_message: 0 },
    ]);
    // a's ids are not b's.
    assert.equal(
      (
        await s.call(
          'DELETE',
          '/topics/fan/subscribers/b/messages/batch',
          read.map((m) => m.id),
        )
      ).status,
      404,
    );
    assert.equal(
      (
        await s.call(
          'DELETE',
          '/topics/fan/subscribers/a/messages/batch',
          read.map((m) => m.id),
        )
      ).status,
      200,
    );
    assert.deepEqual(body(await s.call('GET', '/topics/fan/subscribers')).data, [
      { topic_id: 'fan', name: 'a', unpublished_message: 0, unacked_message: 0 },
      { topic_id: 'fan', name: 'b', unpublished_message: 2, unacked_message: 0 },
    ]);
    const topics = body(await s.call('GET', '/topics')).data as { id: string; name: string; created_at: string }[];
    assert.ok(topics.some((t) => t.name === 'fan' && !Number.isNaN(Date.parse(t.created_at))));
    // Each status entry names its topic by the id GET /topics gives it, as BlockQueue's later versions do.
    assert.equal(topics.find((t) => t.name === 'fan')?.id, 'fan');
  });

  void test('a duration past the 100-year range is a 400 where it is given, and the listing keeps answering', async () => {
    // Issue 20: a visibility of '9999999999h' was stored, and every listing of the subscriber
    // then failed with 500 (RangeError: Invalid time value) for as long as the message lived.
    const huge = await s.call('POST', '/topics', {
      name: 'huge',
      subscribers: [{ name: 's', option: { visibility_duration: '9999999999h' } }],
    });
    assert.equal(huge.status, 400, huge.text);
    assert.match(body(huge).error ?? '', /not exceed 100 years/);
    await topic('huge', [{ name: 's', option: { visibility_duration: '1h' } }]);
    const delayed = await s.call('POST', '/topics/huge/messages', { message: 'later', delay: '9999999999h' });
    assert.equal(delayed.status, 400, delayed.text);
    assert.equal((await s.call('POST', '/topics/huge/messages', { message: 'now' })).status, 200);
    assert.equal((body(await s.call('GET', '/topics/huge/subscribers/s?timeout=1s')).data as unknown[]).length, 1);
    const listed = await s.call('GET', '/topics/huge/subscribers/s/messages');
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(
      (body(listed).data as { message: string; status: string }[]).map((m) => [m.message, m.status]),
      [['now', 'delivered']],
    );
  });

  void test('a publish is stored before its 200', async () => {
    await topic('durable', [{ name: 's' }]);
    await s.call('POST', '/topics/durable/messages', { message: 'now' });
    assert.equal((await s.spool.topic('durable').status())[0]?.waiting, 1);
  });
});
