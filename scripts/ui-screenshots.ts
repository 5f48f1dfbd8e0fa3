// The dashboard's screenshots in docs/images: a server on a memory store with a few busy queues,
// a topic and failing jobs, photographed by Debian's Chromium after half a minute of traffic.
//   npm run build:ui && node --import tsx scripts/ui-screenshots.ts
import { mkdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { connect } from '../src/client/index.ts';
import { open } from '../src/index.ts';
import { createServer } from '../src/server/index.ts';

const out = 'docs/images';
const seconds = Number(process.argv[2] ?? '30');
mkdirSync(out, { recursive: true });
const spool = await open('memory:');
const server = await createServer({ spool });
const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
// The overview samples from its first look on: look now, so the charts hold the whole run.
await fetch(`${base}/v1/overview`);

await spool.topic('orders').create({ billing: {}, email: {} });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const emails = spool.queue('emails');
const reports = spool.queue('reports');
const workers = [
  emails.process(async () => sleep(40), { concurrency: 4 }),
  spool.queue('orders.billing').process(async (job) => {
    await sleep(20);
    if ((job.data as { n: number }).n % 7 === 0) throw new Error('card declined');
  }),
  // A worker of another process, over HTTP: the Workers page marks it.
  connect(base)
    .queue('orders.email')
    .process(async () => sleep(30), { concurrency: 2, prefetch: 4 }),
];
// reports has no worker: the overview warns of it.
await reports.addBulk(Array.from({ length: 240 }, (_, n) => ({ data: { report: `monthly-${n}`, format: 'pdf' } })));
// reminders are delayed for tomorrow: its delayed list offers to promote them.
await spool
  .queue('reminders')
  .addBulk(
    Array.from({ length: 12 }, (_, n) => ({ data: { remind: `user${n}@example.com` }, options: { delay: '1d' } })),
  );
let n = 0;
const traffic = setInterval(() => {
  const burst = 5 + Math.round(5 * Math.sin(n / 10) + 5);
  for (let i = 0; i < burst; i++) {
    n++;
    void emails.add({ to: `user${n}@example.com`, template: 'welcome' });
    void spool.topic('orders').publish({ n, total: (n * 37) % 500 }, { key: `order-${n}` });
  }
}, 250);
await sleep(seconds * 1000);

const profile = mkdtempSync(join(tmpdir(), 'spool-shots-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 760 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
});
const dead = await spool.queue('orders.billing').dead({ limit: 1 });
const shots: [string, string, 'light' | 'dark'][] = [
  ['overview', '#/', 'light'],
  ['overview-dark', '#/', 'dark'],
  ['queue', '#/queues/emails', 'light'],
  ['delayed', '#/queues/reminders?state=delayed', 'light'],
  ['dead-letters', '#/dead/orders.billing', 'light'],
  ['job', `#/queues/orders.billing/jobs/${dead.jobs[0]?.id ?? ''}`, 'light'],
  ['topics', '#/topics', 'light'],
  ['workers', '#/workers', 'light'],
];
for (const [name, path, theme] of shots) {
  // A page each: a second visit to the same page differing by its hash would not run the init script.
  const page = await browser.newPage();
  await page.addInitScript((t) => {
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
      'spool.theme',
      t,
    );
  }, theme);
  await page.goto(`${base}/ui/${path}`);
  await sleep(2500);
  await page.screenshot({ path: join(out, `${name}.png`) });
  await page.close();
}
clearInterval(traffic);
await browser.close();
rmSync(profile, { recursive: true, force: true });
await Promise.all(workers.map((w) => w.close({ timeout: 1000 })));
await server.close();
await spool.close();
