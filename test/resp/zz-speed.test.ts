import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startResp } from './harness.ts';
void test('speed', async () => {
  const r = await startResp();
  const c = new Redis({ port: r.port });
  const real = new Redis({ port: 6379 });
  for (const [name, cl] of [
    ['spool', c],
    ['redis', real],
  ] as const)
    for (const cmd of [['PING'], ['ADDJOB', 'q', 'x', '0'], ['QLEN', 'q']]) {
      if (name === 'redis' && cmd[0] !== 'PING') continue;
      const t = performance.now();
      const p = cl.pipeline();
      for (let i = 0; i < 10000; i++) p.call(...(cmd as [string, ...string[]]));
      await p.exec();
      console.log(name, cmd[0], performance.now() - t);
    }
  c.disconnect();
  real.disconnect();
  await r.close();
});
