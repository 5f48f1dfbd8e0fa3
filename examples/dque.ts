// dque's example in spool: enqueue, close, reopen, Peek, Dequeue and DequeueBlock.
import { open } from '../src/index.ts';

interface Item {
  name: string;
  id: number;
}

await using spool = await open(process.env.SPOOL_STORE ?? 'memory:');
const q = spool.queue<Item>('item-queue');

await q.add({ name: 'Joe', id: 1 });
await q.add({ name: 'Ann', id: 2 });

// Peek: look at the next item without taking it.
const [next] = await q.peek();
console.log('Peeked', next?.data);

// Dequeue: take the next item now (an empty array when there is none).
const [first] = await q.lease();
if (first) {
  console.log('Dequeued', first.data);
  await first.ack();
}

// DequeueBlock: wait until an item is there (here up to 5s).
const [second] = await spool.lease({ queues: 'item-queue', max: 1, wait: '5s' });
if (second) {
  console.log('Dequeued', second.data);
  await second.ack();
}
