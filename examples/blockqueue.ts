// BlockQueue's pub/sub in spool: a topic with subscribers (max_attempts, visibility_duration),
// publish, a long-polling read, delete to ack, subscriber status — first through the library,
// then through BlockQueue's own HTTP routes served by spool.
import { open } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';

await using spool = await open(process.env.SPOOL_STORE ?? 'memory:');

// AddJob(ctx, topic, subscribers) / POST /topics
const cart = spool.topic<string>('cart');
await cart.create({
  counter: { maxAttempts: 5, visibility: '5m' },
  created: { maxAttempts: 5, visibility: '5m' },
});

// Publish(ctx, topic, request) / POST /topics/cart/messages: every subscriber gets a copy.
await cart.publish('hi message from topic cart');

// Read(ctx, topic, "counter") with a 5s time-out, then Ack(ctx, topic, "counter", id).
const counter = cart.subscriber('counter');
for (const message of await counter.lease({ max: 10, wait: '5s' })) {
  console.log(`counter read ${message.id}: ${message.data}`);
  await cart.ack('counter', [message.id]);
}
// GetSubscribersStatus: "created" has not read its copy yet.
for (const s of await cart.status()) console.log(`${s.name}: unpublished ${s.waiting}, unacked ${s.inFlight}`);

// The same over HTTP, BlockQueue's routes unchanged.
const server = await createServer({ spool });
const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return response.json();
};
await call('POST', '/topics/cart/messages', { message: 'hi over HTTP' });
const read = (await call('GET', '/topics/cart/subscribers/created?timeout=5s')) as {
  data: { id: string; message: string }[];
};
for (const { id, message } of read.data) {
  console.log(`created read ${id}: ${message}`);
  await call('DELETE', `/topics/cart/subscribers/created/messages/${id}`);
}
console.log('status', JSON.stringify(await call('GET', '/topics/cart/subscribers')));
await server.close();
