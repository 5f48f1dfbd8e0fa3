// The dashboard in a real browser (issue 18): Debian's Chromium driven by playwright-core
// against a real `spool serve` on a file store, with an admin token and a read-only one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser, Locator, Page } from 'playwright-core';
import { connect } from '../src/client/index.ts';
import { request, serve, stop } from './server/harness.ts';
import type { Answer, Served } from './server/harness.ts';

const executablePath = '/usr/bin/chromium';
const noBrowser = !existsSync(executablePath);
const needBrowser = `needs ${executablePath} (Debian: apt-get install chromium)`;
if (noBrowser && process.env.SPOOL_CI === '1') throw new Error(`test/ui.test.ts ${needBrowser}`);

const admin = 'admin-token-0123456789';
const reader = 'reader-token-0123456789';
const tenant = 'tenant-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'spool-ui-test-'));
let served: Served;
let browser: Browser;

/** A call to the server's API as the admin. */
const call = (method: string, path: string, body?: unknown): Promise<Answer> =>
  request(served.base, method, path, body, { authorization: `Bearer ${admin}` });

async function counts(queue: string): Promise<Record<string, number | boolean>> {
  return (await call('GET', `/v1/queues/${queue}/counts`)).body as Record<string, number | boolean>;
}

/** A page in a fresh browser context, logged in with `token` (none: the login form shows). */
/** A new browser page at `path`, logged in with `token`; `prepare` runs before it loads (routes to stub). */
async function open(
  path: string,
  token: string | null = admin,
  prepare: (page: Page) => Promise<unknown> = async () => {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (token !== null)
    await context.addInitScript((t) => {
      // Runs in the page, where localStorage is; these tests are type-checked without the DOM's types.
      (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
        'spool.token',
        t,
      );
    }, token);
  const page = await context.newPage();
  page.on('pageerror', (error) => assert.fail(`the page threw: ${error.message}`));
  await prepare(page);
  await page.goto(`${served.base}/ui/${path}`);
  return page;
}

/** Clicks the action, then the confirm dialog's button (`yes`, by default the action's name). */
async function confirmed(page: Page, action: string, yes = action): Promise<void> {
  await page.getByRole('button', { name: action, exact: true }).first().click();
  await page.getByRole('dialog').getByRole('button', { name: yes, exact: true }).click();
}

/** A table's rows as { column head: cell text }, so a cell under the wrong head shows. */
async function rowsOf(table: Locator): Promise<Record<string, string>[]> {
  const heads = await table.locator('thead th').allInnerTexts();
  return Promise.all(
    (await table.locator('tbody tr').all()).map(async (row) => {
      const cells = await row.locator('th, td').allInnerTexts();
      assert.equal(cells.length, heads.length, `a row of ${cells.length} cells under ${heads.length} heads`);
      return Object.fromEntries(heads.map((head, i) => [head.trim(), (cells[i] ?? '').trim()]));
    }),
  );
}

const cell = (page: Page, queue: string, state: string) =>
  page.locator(`tr[data-queue="${queue}"] td[data-state="${state}"]`);

before(async () => {
  if (noBrowser) return;
  // The dashboard as the package ships it, built from the current sources.
  const build = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  const tokens = join(dir, 'tokens.json');
  writeFileSync(
    tokens,
    JSON.stringify([
      { token: admin, scopes: ['admin'], name: 'ops' },
      { token: reader, scopes: ['publish'], name: 'viewer' },
      { token: tenant, scopes: ['admin'], prefix: 'tenant-a', name: 'tenant' },
    ]),
  );
  served = await serve(`file:${join(dir, 'data')}`, 'src/cli/main.ts', { args: ['--tokens-file', tokens] });
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  if (noBrowser) return;
  await browser?.close();
  if (served !== undefined) await stop(served);
  rmSync(dir, { recursive: true, force: true });
});

const skip = noBrowser ? needBrowser : false;

void test(
  'the overview shows the counts the API reports, and they change live without a reload',
  { skip },
  async () => {
    await call('POST', '/v1/queues/mail/jobs/batch', { jobs: [{ data: 1 }, { data: 2 }, { data: 3 }] });
    await call('POST', '/v1/queues/sms/jobs', { data: 'x', options: { delay: '1h' } });
    const page = await open('');
    await cell(page, 'mail', 'waiting').getByText('3', { exact: true }).waitFor();
    for (const queue of ['mail', 'sms'])
      for (const state of ['waiting', 'delayed', 'active', 'dead', 'completed'])
        assert.equal(
          await cell(page, queue, state).innerText(),
          String((await counts(queue))[state]),
          `${queue} ${state}`,
        );

    // A mark on the window survives only if the page is not reloaded.
    await page.evaluate(() => {
      (globalThis as { unreloaded?: boolean }).unreloaded = true;
    });
    await call('POST', '/v1/queues/mail/jobs/batch', { jobs: [{ data: 4 }, { data: 5 }] });
    await cell(page, 'mail', 'waiting').getByText('5', { exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => (globalThis as { unreloaded?: boolean }).unreloaded), true);
    await page.context().close();
  },
);

void test('a dead job retried from its page leaves the dead list and waits again', { skip }, async () => {
  const { id } = (await call('POST', '/v1/queues/pay/jobs', { data: { amount: 12 } })).body as { id: string };
  const { jobs } = (await call('POST', '/v1/lease', { queues: ['pay'] })).body as { jobs: { token: string }[] };
  await call('POST', '/v1/nack', { token: jobs[0]!.token, dead: true, error: 'card declined' });
  assert.equal((await counts('pay')).dead, 1);

  const page = await open('#/queues/pay?state=dead');
  await page.getByRole('link', { name: id, exact: true }).click();
  await page.getByText('card declined').first().waitFor();
  await confirmed(page, 'Retry');
  // Back on the dead list, which no longer holds it.
  await page.getByText('No dead jobs.').waitFor();
  assert.equal(await page.locator(`tr[data-job="${id}"]`).count(), 0);
  assert.deepEqual([(await counts('pay')).dead, (await counts('pay')).waiting], [0, 1]);
  await page.context().close();
});

void test('a payload search finds the one job holding the text among hundreds', { skip }, async () => {
  const data = Array.from({ length: 600 }, (_, i) => ({ data: { n: i, note: i === 577 ? 'needle-4711' : 'hay' } }));
  const { ids } = (await call('POST', '/v1/queues/haystack/jobs/batch', { jobs: data })).body as { ids: string[] };
  const page = await open('#/queues/haystack');
  await page.getByRole('searchbox', { name: 'Text in the payload' }).fill('needle-4711');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator(`tr[data-job="${ids[577]}"]`).waitFor();
  assert.equal(await page.locator('tr[data-job]').count(), 1);

  // By id too.
  await page.getByRole('combobox', { name: 'Search by' }).selectOption('id');
  await page.getByRole('searchbox', { name: 'Job id' }).fill(ids[3]!);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator(`tr[data-job="${ids[3]}"]`).waitFor();
  assert.equal(await page.locator('tr[data-job]').count(), 1);
  await page.context().close();
});

void test(
  'a bulk delete applies to every job matching the search, beyond the page shown, and to no other',
  { skip },
  async () => {
    const data = Array.from({ length: 150 }, (_, i) => ({ data: { colour: i % 2 === 0 ? 'red' : 'blue', i } }));
    await call('POST', '/v1/queues/paint/jobs/batch', { jobs: data });
    const page = await open('#/queues/paint');
    await page.getByRole('searchbox', { name: 'Text in the payload' }).fill('red');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('tr[data-job]').nth(49).waitFor();
    await confirmed(page, 'Delete all matching', 'Delete');
    await page.getByText('Deleted 75 job(s).').waitFor();
    assert.equal((await counts('paint')).waiting, 75);
    const left = (await call('GET', '/v1/queues/paint/jobs?state=waiting&limit=1000')).body as {
      jobs: { data: { colour: string } }[];
    };
    assert.deepEqual(new Set(left.jobs.map((j) => j.data.colour)), new Set(['blue']));
    await page.context().close();
  },
);

void test('after a search by id, a bulk action takes that one job, not every job of the state', { skip }, async () => {
  const { ids } = (await call('POST', '/v1/queues/byid/jobs/batch', { jobs: [{ data: 1 }, { data: 2 }, { data: 3 }] }))
    .body as { ids: string[] };
  const page = await open('#/queues/byid');
  await page.getByRole('combobox', { name: 'Search by' }).selectOption('id');
  await page.getByRole('searchbox', { name: 'Job id' }).fill(ids[1]!);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  // The whole list showed the job too: the search's answer is the list of it alone.
  await page.locator('tr[data-job]').nth(1).waitFor({ state: 'detached' });
  await page.locator(`tr[data-job="${ids[1]}"]`).waitFor();
  assert.equal(await page.locator('tr[data-job]').count(), 1);
  await confirmed(page, 'Delete all matching', 'Delete');
  await page.getByText('Deleted 1 job(s).').waitFor();
  // Before, the call went without ids or q: every waiting job of the queue was deleted.
  assert.equal((await counts('byid')).waiting, 2);
  assert.equal((await call('GET', `/v1/queues/byid/jobs/${ids[1]}`)).status, 404);
  await page.context().close();
});

void test(
  'a delayed job promoted from its page waits at once; a bulk promote takes every delayed job matching the search',
  { skip },
  async () => {
    const data = Array.from({ length: 5 }, (_, i) => ({
      data: { i, when: i < 3 ? 'tonight' : 'tomorrow' },
      options: { delay: '1h' },
    }));
    const { ids } = (await call('POST', '/v1/queues/later/jobs/batch', { jobs: data })).body as { ids: string[] };
    const page = await open(`#/queues/later/jobs/${ids[4]}`);
    await page.getByText('tomorrow').first().waitFor();
    await confirmed(page, 'Promote');
    // Back on the delayed list, which no longer holds it.
    await page.locator(`tr[data-job="${ids[0]}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-job="${ids[4]}"]`).count(), 0);
    assert.deepEqual([(await counts('later')).delayed, (await counts('later')).waiting], [4, 1]);

    await page.getByRole('searchbox', { name: 'Text in the payload' }).fill('tonight');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('tr[data-job]').nth(2).waitFor();
    await confirmed(page, 'Promote all matching', 'Promote');
    await page.getByText('Promoted 3 job(s).').waitFor();
    assert.deepEqual([(await counts('later')).delayed, (await counts('later')).waiting], [1, 4]);
    assert.equal(((await call('GET', `/v1/queues/later/jobs/${ids[3]}`)).body as { state: string }).state, 'delayed');
    await page.context().close();
  },
);

void test('pausing from the queue page stops a worker receiving its jobs; resuming lets it', { skip }, async () => {
  await call('POST', '/v1/queues/work/jobs', { data: 'first' });
  const page = await open('#/queues/work');
  await confirmed(page, 'Pause');
  await page.locator('.badge.paused').waitFor();
  assert.equal((await counts('work')).paused, true);
  const lease = async () =>
    ((await call('POST', '/v1/lease', { queues: ['work'], wait: '500ms' })).body as { jobs: unknown[] }).jobs;
  assert.equal((await lease()).length, 0);

  await confirmed(page, 'Resume');
  await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
  assert.equal((await lease()).length, 1);

  // The audit log names who paused and resumed it, from the dashboard.
  await page.goto(`${served.base}/ui/#/audit`);
  const row = page.locator('tr', { hasText: 'POST /v1/queues/:queue/pause' });
  await row.first().waitFor();
  assert.match(await row.first().innerText(), /ops[\s\S]*queue work[\s\S]*dashboard/);
  await page.context().close();
});

void test('a token without the admin scope logs in to a read-only dashboard with no actions', { skip }, async () => {
  const { id } = (await call('POST', '/v1/queues/quiet/jobs', { data: 'x' })).body as { id: string };
  const page = await open('#/queues/quiet', null);
  await page.getByLabel('Token').fill('not-a-token-of-this-server');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').getByText('The server does not know this token.').waitFor();
  await page.getByLabel('Token').fill(reader);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('read-only').waitFor();
  await page.locator(`tr[data-job="${id}"]`).waitFor();
  for (const name of ['Pause', 'Purge', 'Delete all matching', 'Delete selected'])
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
  assert.equal(await page.getByRole('checkbox').count(), 0);
  assert.equal(await page.getByText('Add a job by hand').count(), 0);
  await page.getByRole('link', { name: id, exact: true }).click();
  await page.getByRole('heading', { name: new RegExp(`Job ${id}`) }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete', exact: true }).count(), 0);
  await page.context().close();
});

void test(
  'a token the server stops accepting while the overview is open brings back the login form',
  { skip },
  async () => {
    await call('POST', '/v1/queues/revoked/jobs', { data: 1 });
    // The overview's first answer comes; then the server answers the live stream as it does a token
    // it no longer knows (revoked, or the server restarted with another tokens file).
    const page = await open('', admin, (p) =>
      p.route('**/v1/overview/events', (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'unknown bearer token' } }),
        }),
      ),
    );
    // Before, the counts of the first answer stayed on screen, as if live, with the stream retried
    // every 2 s and nothing said.
    await page.getByRole('alert').getByText('The server no longer accepts this token: log in again.').waitFor();
    await page.getByLabel('Token').waitFor();
    await page.context().close();
  },
);

void test("a job's page keeps the job while the server cannot be reached, and says so", { skip }, async () => {
  const { id } = (await call('POST', '/v1/queues/unreached/jobs', { data: { keep: 'me' } })).body as { id: string };
  const page = await open(`#/queues/unreached/jobs/${id}`);
  await page.getByRole('heading', { name: new RegExp(`Job ${id}`) }).waitFor();
  // The server goes away (restarting): its next poll is refused.
  await page.route(`**/v1/queues/unreached/jobs/${id}`, (route) => route.abort('connectionrefused'));
  await page.getByRole('alert').getByText(`Could not read job ${id}`).waitFor();
  // Before, any failed read showed the job as gone from its queue.
  assert.equal(await page.getByText(/is not in unreached/).count(), 0);
  await page.getByText('"keep": "me"').waitFor();
  await page.context().close();
});

void test('a page the token may not read says why instead of loading forever', { skip }, async () => {
  // The audit log is read by tokens without a prefix only; before, this page showed `Loading…`
  // for good while the page threw the refusal away.
  const audit = await open('#/audit', tenant);
  await audit.getByRole('alert').getByText('this token may not read').waitFor();
  assert.equal(await audit.getByText('Loading…').count(), 0);
  await audit.context().close();

  // A queue outside the prefix: the page says its counts, and its job list, are refused.
  await call('POST', '/v1/queues/elsewhere/jobs', { data: 1 });
  const queue = await open('#/queues/elsewhere', tenant);
  const refused = queue.getByRole('alert').getByText('this token may not read on "elsewhere"');
  await refused.nth(1).waitFor();
  assert.equal(await refused.count(), 2);
  await queue.context().close();
});

void test(
  'long errors in a dead list neither stretch a row down the page nor widen it past the window',
  { skip },
  async () => {
    const stack = 'Error: connect ECONNREFUSED 10.0.0.1:5432 at TCPConnectWrap.afterConnect (node:net:1555:16)\n';
    const errors = [stack.repeat(20).slice(0, 1990), 'E'.repeat(1990)];
    await call('POST', '/v1/queues/stacks/jobs/batch', { jobs: errors.map((_, i) => ({ data: i })) });
    const { jobs } = (await call('POST', '/v1/lease', { queues: ['stacks'], max: 2 })).body as {
      jobs: { token: string; data: number }[];
    };
    for (const job of jobs) await call('POST', '/v1/nack', { token: job.token, dead: true, error: errors[job.data] });
    const page = await open('#/queues/stacks?state=dead');
    await page.locator('tr[data-job]').nth(1).waitFor();
    // Before, the stack's row was ~900 px tall and the word without spaces widened the page.
    for (const row of await page.locator('tr[data-job]').all())
      assert.ok((await row.boundingBox())!.height < 120, `a row ${(await row.boundingBox())!.height} px tall`);
    const [scrollWidth, innerWidth] = await page.evaluate(() => {
      const g = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
      return [g.document.documentElement.scrollWidth, g.innerWidth];
    });
    assert.ok(scrollWidth <= innerWidth, `the page is ${scrollWidth} px wide in a ${innerWidth} px window`);
    await page.context().close();
  },
);

void test('the overview says why its first answer failed and loads once the server answers', { skip }, async () => {
  await call('POST', '/v1/queues/proxied/jobs', { data: 1 });
  // A proxy in front of the server answers the first overview with its own HTML error page.
  let refused = 0;
  const page = await open('', admin, (p) =>
    p.route('**/v1/overview', (route) =>
      refused++ === 0
        ? route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body>Bad Gateway</body></html>' })
        : route.continue(),
    ),
  );
  await page.getByRole('alert').getByText('the server answered 502').waitFor();
  // Before, the page stayed on `Loading…` for good (and the HTML was a JSON parse error).
  await cell(page, 'proxied', 'waiting').getByText('1', { exact: true }).waitFor({ timeout: 10_000 });
  await page.context().close();
});

void test('a job list whose read fails says why, and reads again until the list loads', { skip }, async () => {
  const { id } = (await call('POST', '/v1/queues/flaky/jobs', { data: 'at last' })).body as { id: string };
  let refused = 0;
  // A proxy in front of the server answers the first two reads of the list with its own error page.
  const page = await open('#/queues/flaky', admin, (p) =>
    p.route(/\/v1\/queues\/flaky\/jobs\?/, (route) =>
      refused++ < 2
        ? route.fulfill({ status: 502, contentType: 'text/html', body: '<html><body>Bad Gateway</body></html>' })
        : route.continue(),
    ),
  );
  await page.getByRole('alert').getByText('the server answered 502').waitFor();
  // Before, the list stayed on `Loading…` until the page was reloaded.
  await page.locator(`tr[data-job="${id}"]`).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByText('the server answered 502').count(), 0);
  await page.context().close();
});

void test("a job list's payload preview does not cut an emoji in half", { skip }, async () => {
  // As JSON, the 🎉 takes the 80th and 81st UTF-16 units, across the preview's cut.
  const { id } = (await call('POST', '/v1/queues/party/jobs', { data: `${'x'.repeat(78)}🎉 and more` })).body as {
    id: string;
  };
  const page = await open('#/queues/party');
  const cell = page.locator(`tr[data-job="${id}"] code`);
  await cell.waitFor();
  // Checked in the page: a lone surrogate may be replaced on its way out of the browser.
  const broken = await cell.evaluate((el) =>
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test((el as unknown as { textContent: string | null }).textContent ?? ''),
  );
  assert.equal(broken, false, 'the preview ends in half of a surrogate pair');
  assert.equal(await cell.innerText(), `"${'x'.repeat(78)}…`);
  await page.context().close();
});

void test('a selection is of the page shown: the next page starts with none', { skip }, async () => {
  const data = Array.from({ length: 60 }, (_, i) => ({ data: i }));
  await call('POST', '/v1/queues/pages/jobs/batch', { jobs: data });
  const page = await open('#/queues/pages');
  await page.locator('tr[data-job]').nth(49).waitFor();
  await page.getByRole('checkbox', { name: 'Select every job on this page' }).check();
  const first = await page.locator('tr[data-job]').first().getAttribute('data-job');
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await page.waitForFunction(
    (id) =>
      (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
        `tr[data-job="${id}"]`,
      ) === null,
    first,
  );
  await page.locator('tr[data-job]').nth(9).waitFor();
  // Before, the 50 jobs of page 1 stayed selected: Delete selected, enabled with no box ticked,
  // deleted them.
  assert.equal(await page.getByRole('button', { name: 'Delete selected', exact: true }).isDisabled(), true);
  assert.equal(await page.getByRole('checkbox', { checked: true }).count(), 0);
  await page.context().close();
});

void test('the topics page adds a subscriber and deletes it after a confirmation', { skip }, async () => {
  await call('POST', '/v1/topics', { name: 'orders', subscribers: { billing: {} } });
  const page = await open('#/topics?topic=orders');
  const table = page.getByRole('table', { name: 'Subscribers of orders' });
  await table.getByRole('rowheader', { name: 'billing' }).waitFor();
  await page.getByLabel('New subscriber').fill('audit');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await table.getByRole('rowheader', { name: 'audit' }).waitFor();
  assert.deepEqual(
    (await rowsOf(table)).map((row) => [row.Subscriber, row.waiting, row['in flight'], row.dead]),
    [
      ['audit', '0', '0', '0'],
      ['billing', '0', '0', '0'],
    ],
  );
  const info = async () =>
    ((await call('GET', '/v1/topics/orders')).body as { subscribers: { name: string }[] }).subscribers.map(
      (s) => s.name,
    );
  assert.deepEqual(await info(), ['audit', 'billing']);
  await table.getByRole('row', { name: /audit/ }).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('Deleted subscriber audit.').waitFor();
  assert.deepEqual(await info(), ['billing']);
  await page.context().close();
});

void test(
  'the workers page shows a spool/client worker, beating through the server, each figure under its own head',
  { skip },
  async () => {
    const client = connect(served.base, { token: admin });
    const mailer = client.queue('mailer');
    for (let i = 0; i < 4; i++) await mailer.add(i);
    let finish = (): void => {};
    const held = new Promise<void>((resolve) => (finish = resolve));
    const worker = mailer.process(() => held, { concurrency: 2, prefetch: 2 });
    try {
      const page = await open('#/workers');
      const table = page.getByRole('table', { name: 'Workers' });
      // Two running, two leased ahead: the first beat may be before the leases, the next within 5 s.
      await table.getByRole('cell', { name: 'mailer' }).waitFor();
      let row: Record<string, string> | undefined;
      const deadline = Date.now() + 15_000;
      while ((row = (await rowsOf(table))[0])?.prefetched !== '2' && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 250));
      assert.deepEqual(
        [row?.Queue, row?.concurrency, row?.['in flight'], row?.prefetched, row?.completed, row?.Status],
        ['mailer', '2', '2', '2', '0', 'live'],
      );
      assert.match(row?.Host ?? '', /^over HTTP/);
      await page.context().close();
    } finally {
      finish();
      await worker.close();
    }
  },
);

void test('the dead letters page redrives every dead job of a queue', { skip }, async () => {
  await call('POST', '/v1/queues/refunds/jobs/batch', { jobs: [{ data: 1 }, { data: 2 }, { data: 3 }] });
  const { jobs } = (await call('POST', '/v1/lease', { queues: ['refunds'], max: 3 })).body as {
    jobs: { token: string }[];
  };
  for (const job of jobs) await call('POST', '/v1/nack', { token: job.token, dead: true, error: 'bank offline' });
  const page = await open('#/audit');
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  const asked: string[] = [];
  page.on('request', (r) => asked.push(new URL(r.url()).pathname));
  await page.getByRole('link', { name: 'Dead letters' }).click();
  await page.getByRole('link', { name: /refunds 3/ }).click();
  // Its list of queues does not come from /v1/overview, which brings ten minutes of samples of
  // every queue (megabytes with hundreds of queues) and was read every 5 s for the names.
  assert.ok(!asked.includes('/v1/overview'), asked.join(' '));
  await page.locator('tr[data-job]').nth(2).waitFor();
  await confirmed(page, 'Retry all matching', 'Retry');
  await page.getByText('Retried 3 job(s).').waitFor();
  const counts = (await call('GET', '/v1/queues/refunds/counts')).body as { dead: number; waiting: number };
  assert.deepEqual([counts.dead, counts.waiting], [0, 3]);
  await page.context().close();
});

void test("a queue's stored settings are edited from its page", { skip }, async () => {
  await call('POST', '/v1/queues/tuned/jobs', { data: 1 });
  const page = await open('#/queues/tuned');
  await page.getByText('Stored settings').click();
  const editor = page.getByLabel('Settings (JSON)');
  await editor.waitFor();
  const settings = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
  assert.equal(settings.maxLength, null);
  await editor.fill(JSON.stringify({ ...settings, maxLength: 7 }, null, 2));
  await confirmed(page, 'Save settings', 'Save');
  await page.getByText('Saved.').waitFor();
  const stored = (await call('GET', '/v1/queues/tuned/settings')).body as { maxLength: number };
  assert.equal(stored.maxLength, 7);
  await page.context().close();
});
