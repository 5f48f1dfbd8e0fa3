// diskoque's README example in spool: publish a message, receive it with a worker pool,
// retries with exponential back-off (WithMaxAttempts(5), WithExponentialBackoff(1s, 30s)).
import { open } from '../src/index.ts';

await using spool = await open(process.env.SPOOL_STORE ?? 'memory:');
const queue = spool.queue<{ data: string }>('messages', {
  maxAttempts: 5,
  backoff: { type: 'exponential', delay: '1s', maxDelay: '30s' },
});

await queue.add({ data: 'Hello, World!' });

const controller = new AbortController();
const closed = new Promise<void>((resolve) => {
  const worker = queue.process(
    (job) => {
      console.log(`Received message: ${job.data.data}`);
      controller.abort(); // like diskoque's cancel(): stop receiving
    },
    { concurrency: 4, signal: controller.signal },
  );
  worker.on('completed', () => void worker.close().then(resolve));
});
await closed;
