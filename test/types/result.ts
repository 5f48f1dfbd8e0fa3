// Type tests of the Result type parameter, checked by `npm run typecheck` (tsc over test/):
// each `@ts-expect-error` line must fail to compile, and tsc fails if one of them compiles.
// Nothing here runs; the functions are exported only so that they count as used.
import type { JobInfo, LeasedJob, Spool } from '../../src/index.ts';
import type { SpoolClient } from '../../src/client/index.ts';

/** true when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

interface Mail {
  to: string;
}
interface Sent {
  sent: string;
}

export async function localQueue(spool: Spool): Promise<void> {
  const q = spool.queue<Mail, Sent>('mail');
  const id = await q.add({ to: 'ada' });
  const s: string = (await q.waitFor(id)).sent;
  // @ts-expect-error waitFor resolves with the queue's Result, not any shape the caller asks for
  const n: number = (await q.waitFor(id)).sent;
  // @ts-expect-error waitFor takes no type argument: it was an unchecked cast
  await q.waitFor<{ other: true }>(id);

  q.process((job) => ({ sent: job.data.to }));
  q.process(async (job) => Promise.resolve({ sent: job.data.to }));
  // @ts-expect-error the handler returns the Result
  q.process(() => ({ sent: 1 }));
  // @ts-expect-error nothing returned is no Result
  q.process(() => {});

  const worker = q.process((job) => ({ sent: job.data.to }));
  worker.on('completed', (_job, _result) => {
    const same: Equal<typeof _result, Sent> = true;
    const data: Equal<typeof _job.data, Mail> = true;
    void [same, data];
  });

  const [job] = await q.lease();
  if (job !== undefined) {
    const typed: Equal<typeof job, LeasedJob<Mail, Sent>> = true;
    void typed;
    await job.ack({ sent: 'yes' });
    // @ts-expect-error ack takes the Result
    await job.ack({ sent: 5 });
    // @ts-expect-error a Result that cannot be undefined must be given
    await job.ack();
  }
  for await (const leased of q.consume()) await leased.ack({ sent: leased.data.to });

  // Without a Result type, anything goes, as before.
  const loose = spool.queue('loose');
  const anything: unknown = await loose.waitFor('1');
  loose.process(() => {});
  const [free] = await loose.lease();
  await free?.ack();
  await free?.ack(42);
  // A Result that may be undefined may be left out.
  const maybe = spool.queue<Mail, string | undefined>('maybe');
  const [m] = await maybe.lease();
  await m?.ack();
  const info: JobInfo<Mail> | null = await q.get(id);
  void [s, n, anything, info];
}

export async function remoteQueue(client: SpoolClient): Promise<void> {
  const q = client.queue<Mail, Sent>('mail');
  const id = await q.add({ to: 'ada' });
  const s: string = (await q.waitFor(id)).sent;
  // @ts-expect-error the remote waitFor is typed by the Result too
  const n: number = (await q.waitFor(id)).sent;
  // @ts-expect-error waitFor takes no type argument
  await q.waitFor<{ other: true }>(id);
  const worker = q.process((job) => ({ sent: job.data.to }));
  // @ts-expect-error the remote handler returns the Result
  q.process(() => ({ sent: 1 }));
  worker.on('completed', (_job, _result) => {
    const same: Equal<typeof _result, Sent> = true;
    void same;
  });
  const [job] = await q.lease();
  // @ts-expect-error the remote ack takes the Result
  await job?.ack({ sent: 5 });
  await job?.ack({ sent: 'yes' });
  void [s, n];
}
