// kafkaq's example in spool: 50 workers take tasks, confirm each (Done); an unconfirmed task is
// handed out again after its time-out (the lease's visibility).
import { open } from '../src/index.ts';

await using spool = await open(process.env.SPOOL_STORE ?? 'memory:');
const tasks = spool.queue<string>('tasks', { visibility: '30s' });
const total = 10;

for (let round = 0; round < 3; round++) {
  const start = performance.now();
  await tasks.addBulk(Array.from({ length: total }, (_, i) => ({ data: `task ${i}` })));
  let count = 0;
  await new Promise<void>((resolve) => {
    const worker = tasks.process(
      (job) => {
        console.log(`executing ${job.data}`);
      },
      { concurrency: 50 },
    );
    worker.on('completed', () => {
      if (++count === total) void worker.close().then(resolve);
    });
  });
  const ms = performance.now() - start;
  console.log(`total ${ms.toFixed(1)}ms, ${(ms / total).toFixed(3)}ms per task`);
}
