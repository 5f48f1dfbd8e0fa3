// goware/disque's producer and consumer in spool: priority queues read left to right,
// Ack / Nack, Wait for a job, and the Config options (Delay, RetryAfter, TTL, MaxLen, Timeout).
import { open } from '../src/index.ts';

await using spool = await open(process.env.SPOOL_STORE ?? 'memory:');
const config = { visibility: '1m', ttl: '24h', maxLength: 1000 }; // RetryAfter, TTL, MaxLen
const high = spool.queue<string>('high', config);
const low = spool.queue<string>('low', config);
const urgent = spool.queue<string>('urgent', config);

// Producer: three jobs with different priorities.
await high.add('data1');
await low.add('data2');
const job3 = await urgent.add('data3');
await high.add('data4', { delay: '1h' }); // Delay: scheduled, not leasable yet

// Consumer: take from the highest-priority queue that has a job (Timeout: 1s).
let processed = 0;
const consumer = (async () => {
  for (;;) {
    const [job] = await spool.lease<string>({ queues: ['urgent', 'high', 'low'], wait: '1s' });
    if (job === undefined) return;
    try {
      console.log(`processing ${job.data} from ${job.queue}`);
      processed++;
      await job.ack();
    } catch (error) {
      await job.nack({ error }); // Failed: re-queue the job.
    }
  }
})();

// Block until job3 is done.
await urgent.waitFor(job3);
console.log('job3 is done');
await consumer;
console.log(`processed ${processed} jobs; the delayed one waits: ${JSON.stringify(await high.counts())}`);
