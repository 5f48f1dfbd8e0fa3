// kill -9 at random moments, `rounds` times, of a child writing to a store (fixtures/store-writer.ts):
// after each, the store must open, every add whose promise resolved must be there, and no ack
// whose promise resolved may be undone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Store } from '../../src/index.ts';

export async function killLoop(url: string, openStore: () => Promise<Store>, rounds = 100): Promise<void> {
  const added = new Set<string>();
  const acked = new Set<string>();
  const fixture = join(import.meta.dirname, '..', 'fixtures', 'store-writer.ts');
  for (let round = 0; round < rounds; round++) {
    const killAfter = 1 + Math.floor(Math.random() * 60);
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const complete = buffer.split('\n');
      buffer = complete.pop() ?? '';
      for (const line of complete) {
        const [kind, id] = line.split(' ');
        if (kind === 'added') added.add(id as string);
        if (kind === 'acked') acked.add(id as string);
        // Killed after a random number of answers, or at a random moment once it is writing.
        if (++lines === 1) setTimeout(() => child.kill('SIGKILL'), Math.random() * 100);
        if (lines === killAfter) child.kill('SIGKILL');
      }
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const store = await openStore();
    try {
      const records = await store.get({ ids: [...added], now: Date.now() });
      [...added].forEach((id, i) => {
        const job = records[i] ?? null;
        if (acked.has(id))
          assert.ok(
            job === null || job.state === 'completed',
            `round ${round}: acked job ${id} came back as ${job?.state}`,
          );
        else assert.ok(job !== null, `round ${round}: added job ${id} was lost`);
      });
    } finally {
      await store.close();
    }
  }
  assert.ok(added.size > rounds);
  assert.ok(acked.size > 0);
}
