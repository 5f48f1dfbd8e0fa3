import { rmSync } from 'node:fs';
import { open } from '../src/index.ts';
const dir = '/tmp/spool-e2e';
rmSync(dir, { recursive: true, force: true });
const spool = await open(`file:${dir}`);
const q = spool.queue<{ i: number; pad: string }>('e2e');
const N = 50_000;
for (let i = 0; i < N; i += 1000) await q.addBulk(Array.from({ length: 1000 }, (_, k) => ({ data: { i: i + k, pad: 'x'.repeat(64) } })));
const t = performance.now();
let done = 0;
await new Promise<void>((resolve) => {
  const w = q.process(() => undefined, { concurrency: 64 });
  w.on('completed', () => { if (++done === N) resolve(); });
});
console.log('e2e c=64', Math.round(N / ((performance.now() - t) / 1000)), '/s');
const t2 = performance.now();
const pending: Promise<string>[] = [];
for (let i = 0; i < N; i++) { pending.push(q.add({ i, pad: 'x' })); if (pending.length === 1000) { await Promise.all(pending); pending.length = 0; } }
console.log('enqueue single', Math.round(N / ((performance.now() - t2) / 1000)), '/s');
await spool.close();
