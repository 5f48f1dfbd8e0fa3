// A queue's page: its counts and state, pause / resume / purge / add a job, its jobs by state;
// and one job's page with everything the store keeps of it.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, queuePath, states } from './api.ts';
import type { Counts, Job, JobState } from './api.ts';
import { confirm, Failure, go, href, Notice, Section, time, useNotice, usePoll, useSession } from './common.tsx';
import { JobList } from './jobs.tsx';

export function QueuePage({ queue, state }: { queue: string; state: JobState }) {
  const { admin } = useSession();
  const [counts, setCounts] = useState<Counts | null>(null);
  const [tick, setTick] = useState(0);
  const { notice, run } = useNotice();
  const failure = usePoll(async () => setCounts(await api<Counts>('GET', queuePath(queue, '/counts'))), 2000, [
    queue,
    tick,
  ]);
  const changed = (): void => setTick((n) => n + 1);

  const act = async (action: 'pause' | 'resume' | 'purge'): Promise<void> => {
    const question = {
      pause: `Pause ${queue}? Workers stop receiving its jobs until it is resumed.`,
      resume: `Resume ${queue}?`,
      purge: `Purge ${queue}? Every job that is not running is deleted.`,
    }[action];
    const verb = action[0]!.toUpperCase() + action.slice(1);
    if (!(await confirm(question, verb, action === 'purge'))) return;
    await run(async () => {
      const answer = await api<{ purged?: number }>('POST', queuePath(queue, `/${action}`));
      changed();
      return action === 'purge' ? `Purged ${answer.purged ?? 0} job(s).` : `${verb}d.`;
    });
  };

  return (
    <>
      <header class="page-head">
        <h1>
          Queue <span class="name">{queue}</span> {counts?.paused === true && <span class="badge paused">paused</span>}
        </h1>
        {admin && (
          <div class="toolbar" role="toolbar" aria-label="Queue actions">
            {counts?.paused === true ? (
              <button type="button" onClick={() => void act('resume')}>
                Resume
              </button>
            ) : (
              <button type="button" onClick={() => void act('pause')}>
                Pause
              </button>
            )}
            <button type="button" class="danger" onClick={() => void act('purge')}>
              Purge
            </button>
          </div>
        )}
      </header>
      <Failure failure={failure} />
      <Notice notice={notice} />
      <nav class="tabs" aria-label="Job states">
        {states.map((s) => (
          <a key={s} href={href(['queues', queue], { state: s })} aria-current={s === state ? 'page' : undefined}>
            {s} <span class="count">{counts === null ? '' : counts[s].toLocaleString()}</span>
          </a>
        ))}
      </nav>
      <JobList key={`${queue}/${state}`} queue={queue} state={state} onChange={changed} />
      {admin && <AddJob queue={queue} onAdded={changed} />}
      <Settings queue={queue} />
    </>
  );
}

/**
 * The queue's stored settings (every process sees them), as the server's settings route answers
 * them; editable as JSON by an admin. Hidden on a server without that route.
 */
function Settings({ queue }: { queue: string }) {
  const { admin } = useSession();
  const [text, setText] = useState<string | null>(null);
  const { notice, run } = useNotice();
  const path = queuePath(queue, '/settings');
  useEffect(() => {
    api<unknown>('GET', path).then(
      (settings) => setText(JSON.stringify(settings, null, 2)),
      () => setText(null),
    );
  }, [path]);
  if (text === null) return null;
  return (
    <details class="panel">
      <summary>Stored settings</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            if (!(await confirm(`Change the stored settings of ${queue}? Every process sees them.`, 'Save')))
              return 'Not saved.';
            const saved = await api<unknown>('PUT', path, JSON.parse(text) as unknown);
            setText(JSON.stringify(saved, null, 2));
            return 'Saved.';
          });
        }}
      >
        <label>
          Settings (JSON)
          <textarea
            rows={12}
            value={text}
            readOnly={!admin}
            onInput={(e) => setText(e.currentTarget.value)}
            spellcheck={false}
          />
        </label>
        {admin && (
          <button type="submit" class="primary">
            Save settings
          </button>
        )}
        <Notice notice={notice} />
      </form>
    </details>
  );
}

function AddJob({ queue, onAdded }: { queue: string; onAdded: () => void }) {
  const [data, setData] = useState('{\n  \n}');
  const [options, setOptions] = useState('{}');
  const { notice, run } = useNotice();
  return (
    <details class="panel">
      <summary>Add a job by hand</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const body = { data: JSON.parse(data) as unknown, options: JSON.parse(options) as unknown };
            const { id } = await api<{ id: string }>('POST', queuePath(queue, '/jobs'), body);
            onAdded();
            return `Added job ${id}.`;
          });
        }}
      >
        <label>
          Payload (JSON)
          <textarea rows={6} value={data} onInput={(e) => setData(e.currentTarget.value)} spellcheck={false} />
        </label>
        <label>
          Options (JSON: delay, priority, ttl, maxAttempts, backoff, visibility, key)
          <textarea rows={2} value={options} onInput={(e) => setOptions(e.currentTarget.value)} spellcheck={false} />
        </label>
        <button type="submit" class="primary">
          Add job
        </button>
        <Notice notice={notice} />
      </form>
    </details>
  );
}

type JobAction = 'retry' | 'promote' | 'delete';
/** Each action's verb, and what the notice says once it is done. */
const jobVerbs: Readonly<Record<JobAction, readonly [string, string]>> = {
  retry: ['Retry', 'Retried'],
  promote: ['Promote', 'Promoted'],
  delete: ['Delete', 'Deleted'],
};

export function JobPage({ queue, id }: { queue: string; id: string }) {
  const { admin } = useSession();
  const [job, setJob] = useState<Job | null | undefined>(undefined);
  /** Why the last read failed, other than the job being gone (the server down, a 5xx …). */
  const [failure, setFailure] = useState<string | null>(null);
  const { notice, run } = useNotice();
  const path = queuePath(queue, `/jobs/${encodeURIComponent(id)}`);
  usePoll(
    () =>
      api<Job>('GET', path).then(
        (j) => {
          setJob(j);
          setFailure(null);
        },
        // Only a 404 says the job is gone: a server restarting is not a deleted job.
        (error: Error) =>
          error instanceof ApiError && error.status === 404 ? setJob(null) : setFailure(error.message),
      ),
    3000,
    [path],
  );
  const failed = failure !== null && (
    <p role="alert" class="notice error">
      Could not read job {id}: {failure}
    </p>
  );
  if (job === undefined) return failed === false ? <p>Loading…</p> : failed;
  if (job === null)
    return (
      <p>
        Job {id} is not in {queue} (any more). <a href={href(['queues', queue])}>Back to the queue</a>
      </p>
    );

  const act = async (action: JobAction): Promise<void> => {
    const [verb, done] = jobVerbs[action];
    if (!(await confirm(`${verb} job ${id}?`, verb, action === 'delete'))) return;
    await run(async () => {
      if (action === 'delete') await api('DELETE', path);
      else await api('POST', `${path}/${action}`);
      go(['queues', queue], { state: job.state });
      return `${done} job ${id}.`;
    });
  };

  return (
    <>
      <header class="page-head">
        <h1>
          Job <span class="name">{job.id}</span> <span class={`badge state-${job.state}`}>{job.state}</span>
        </h1>
        {admin && (
          <div class="toolbar" role="toolbar" aria-label="Job actions">
            {job.state === 'dead' && (
              <button type="button" class="primary" onClick={() => void act('retry')}>
                Retry
              </button>
            )}
            {job.state === 'delayed' && (
              <button type="button" class="primary" onClick={() => void act('promote')}>
                Promote
              </button>
            )}
            <button type="button" class="danger" onClick={() => void act('delete')}>
              Delete
            </button>
          </div>
        )}
      </header>
      <p>
        <a href={href(['queues', queue], { state: job.state })}>← {queue}</a>
      </p>
      {failed}
      <Notice notice={notice} />
      <Section title="Payload">
        <pre class="code">{JSON.stringify(job.data, null, 2)}</pre>
      </Section>
      <Section title="Options and times">
        <dl class="facts">
          <dt>Priority</dt>
          <dd>{job.priority}</dd>
          <dt>Attempts</dt>
          <dd>
            {job.attempts} of {job.maxAttempts ?? 'unlimited'}
          </dd>
          <dt>Nacks</dt>
          <dd>{job.nacks}</dd>
          <dt>Created</dt>
          <dd>{time(job.createdAt)}</dd>
          <dt>Runs at</dt>
          <dd>{time(job.runAt)}</dd>
          <dt>Lease until</dt>
          <dd>{time(job.leaseUntil)}</dd>
          <dt>Expires</dt>
          <dd>{time(job.expiresAt)}</dd>
          <dt>Finished</dt>
          <dd>{time(job.finishedAt)}</dd>
        </dl>
      </Section>
      <Section title="Errors">
        {job.errors.length === 0 ? (
          <p>None.</p>
        ) : (
          <ol class="errors">
            {job.errors.map((e, i) => (
              <li key={i}>
                <pre class="code">{e}</pre>
              </li>
            ))}
          </ol>
        )}
      </Section>
      {job.state === 'completed' && (
        <Section title="Result">
          <pre class="code">{JSON.stringify(job.result, null, 2) ?? 'none'}</pre>
        </Section>
      )}
    </>
  );
}
