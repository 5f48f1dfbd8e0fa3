// The smaller pages: dead letters across queues, topics and their subscribers, workers from
// their heartbeats, and the audit log.
import { useState } from 'preact/hooks';
import { api } from './api.ts';
import type { Counts } from './api.ts';
import {
  age,
  confirm,
  Failure,
  go,
  Head,
  href,
  NameForm,
  Notice,
  Section,
  time,
  useNotice,
  usePoll,
  useSession,
} from './common.tsx';
import { JobList } from './jobs.tsx';

/** Dead letters: the queues holding dead jobs, and the dead list of the one chosen. */
export function DeadLetters({ queue }: { queue: string | null }) {
  const [queues, setQueues] = useState<{ name: string; counts: Counts }[] | null>(null);
  // The store's list of queues with their counts: /v1/overview would bring ten minutes of samples
  // of every queue with it (megabytes with hundreds of queues), every 5 s, for a list of names.
  const failure = usePoll(
    async () => setQueues((await api<{ queues: { name: string; counts: Counts }[] }>('GET', '/v1/queues')).queues),
    5000,
    [],
  );
  const holding = queues?.filter((q) => q.counts.dead > 0 || q.name === queue) ?? [];
  return (
    <>
      <h1>Dead letters</h1>
      <Failure failure={failure} />
      {queues !== null && holding.length === 0 && <p>No dead jobs in any queue.</p>}
      <nav class="tabs" aria-label="Queues with dead jobs">
        {holding.map((q) => (
          <a key={q.name} href={href(['dead', q.name])} aria-current={q.name === queue ? 'page' : undefined}>
            {q.name} <span class="count">{q.counts.dead.toLocaleString()}</span>
          </a>
        ))}
      </nav>
      {queue !== null && <JobList key={queue} queue={queue} state="dead" />}
    </>
  );
}

interface SubscriberStatus {
  name: string;
  queue: string;
  waiting: number;
  inFlight: number;
  dead: number;
}

export function Topics({ selected }: { selected: string | null }) {
  const { admin } = useSession();
  const [topics, setTopics] = useState<string[]>([]);
  const [tick, setTick] = useState(0);
  const failure = usePoll(async () => setTopics((await api<{ topics: string[] }>('GET', '/v1/topics')).topics), 5000, [
    tick,
  ]);
  const topic = selected ?? topics[0] ?? null;
  return (
    <>
      <h1>Topics</h1>
      <Failure failure={failure} />
      <nav class="tabs" aria-label="Topics">
        {topics.map((t) => (
          <a key={t} href={href(['topics'], { topic: t })} aria-current={t === topic ? 'page' : undefined}>
            {t}
          </a>
        ))}
      </nav>
      {topics.length === 0 && <p>No topics.</p>}
      {topic !== null && (
        <TopicStatus key={topic} topic={topic} version={tick} onChange={() => setTick((n) => n + 1)} />
      )}
      {admin && (
        <NameForm
          label="New topic"
          action="Create"
          panel
          create={async (name) => {
            await api('POST', '/v1/topics', { name });
            setTick((n) => n + 1);
            go(['topics'], { topic: name });
            return `Created topic ${name}.`;
          }}
        />
      )}
    </>
  );
}

/** `version` changes when a subscriber was added or deleted: the status is read again. */
function TopicStatus({ topic, version, onChange }: { topic: string; version: number; onChange: () => void }) {
  const { admin } = useSession();
  const [subs, setSubs] = useState<SubscriberStatus[] | null>(null);
  const { notice, run } = useNotice();
  const path = `/v1/topics/${encodeURIComponent(topic)}`;
  const failure = usePoll(
    async () => setSubs((await api<{ subscribers: SubscriberStatus[] }>('GET', `${path}/status`)).subscribers),
    3000,
    [path, version],
  );
  const remove = async (sub: string): Promise<void> => {
    if (!(await confirm(`Delete subscriber ${sub} of ${topic}? Its queue and messages go with it.`, 'Delete', true)))
      return;
    await run(async () => {
      await api('DELETE', `${path}/subscribers/${encodeURIComponent(sub)}`);
      onChange();
      return `Deleted subscriber ${sub}.`;
    });
  };
  return (
    <Section title={`Subscribers of ${topic}`}>
      <Failure failure={failure} />
      <table class="grid" aria-label={`Subscribers of ${topic}`}>
        <Head
          columns={[
            'Subscriber',
            'Queue',
            { num: 'waiting' },
            { num: 'in flight' },
            { num: 'dead' },
            admin && 'Actions',
          ]}
        />
        <tbody>
          {(subs ?? []).map((s) => (
            <tr key={s.name}>
              <th scope="row">{s.name}</th>
              <td>
                <a href={href(['queues', s.queue])}>{s.queue}</a>
              </td>
              <td class="num">{s.waiting}</td>
              <td class="num">{s.inFlight}</td>
              <td class="num">{s.dead}</td>
              {admin && (
                <td>
                  <button type="button" class="danger" onClick={() => void remove(s.name)}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <NameForm
          label="New subscriber"
          action="Add"
          create={async (name) => {
            await api('PUT', `${path}/subscribers/${encodeURIComponent(name)}`, {});
            onChange();
            return `Added subscriber ${name}.`;
          }}
        />
      )}
      <Notice notice={notice} />
    </Section>
  );
}

interface WorkerProcess {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  beatAt: number;
  gone: boolean;
  /** The server its workers reach the store through, when they run over HTTP. */
  via?: { host: string; pid: number };
  workers: {
    queue: string;
    concurrency: number;
    running: number;
    prefetched: number;
    completed: number;
    failed: number;
  }[];
}

export function Workers() {
  const [processes, setProcesses] = useState<WorkerProcess[] | null>(null);
  const [now, setNow] = useState(Date.now());
  const failure = usePoll(
    async () => {
      setProcesses((await api<{ processes: WorkerProcess[] }>('GET', '/v1/workers')).processes);
      setNow(Date.now());
    },
    2000,
    [],
  );
  if (processes === null) return failure === null ? <p>Loading…</p> : <Failure failure={failure} />;
  return (
    <>
      <h1>Workers</h1>
      <Failure failure={failure} />
      <p>
        From the heartbeats each process running workers writes to the store every 5 s; one silent for 15 s is gone.
      </p>
      {processes.length === 0 && <p>No worker has a heartbeat in the store.</p>}
      <table class="grid" aria-label="Workers">
        <Head
          columns={[
            'Host',
            { num: 'pid' },
            'Queue',
            { num: 'concurrency' },
            { num: 'in flight' },
            { num: 'prefetched' },
            { num: 'completed' },
            { num: 'failed' },
            'Last heartbeat',
            'Status',
          ]}
        />
        <tbody>
          {processes.flatMap((p) =>
            p.workers.map((w, i) => (
              <tr key={`${p.id}/${i}`} class={p.gone ? 'gone' : ''}>
                <td>
                  {p.via !== undefined && (
                    <span class="badge" title={`through the server at ${p.via.host}, pid ${p.via.pid}`}>
                      over HTTP
                    </span>
                  )}
                  {p.host}
                </td>
                <td class="num">{p.pid}</td>
                <td>
                  <a href={href(['queues', w.queue])}>{w.queue}</a>
                </td>
                <td class="num">{w.concurrency}</td>
                <td class="num">{w.running}</td>
                <td class="num">{w.prefetched}</td>
                <td class="num">{w.completed.toLocaleString()}</td>
                <td class="num">{w.failed.toLocaleString()}</td>
                <td title={time(p.beatAt)}>{age(now - p.beatAt)} ago</td>
                <td>{p.gone ? <span class="badge warn">gone</span> : <span class="badge ok">live</span>}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </>
  );
}

interface AuditEntry {
  at: number;
  who: string;
  action: string;
  target: Record<string, string>;
  details: string | null;
  status: number;
  ui: boolean;
}

export function Audit() {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const failure = usePoll(
    async () => setEntries((await api<{ entries: AuditEntry[] }>('GET', '/v1/audit?limit=200')).entries),
    5000,
    [],
  );
  if (entries === null) return failure === null ? <p>Loading…</p> : <Failure failure={failure} />;
  return (
    <>
      <h1>Audit log</h1>
      <Failure failure={failure} />
      <p>Every change made through the server's admin routes, newest first.</p>
      <table class="grid" aria-label="Audit log">
        <Head columns={['When', 'Who', 'What', 'On', 'Details', { num: 'Status' }, 'From']} />
        <tbody>
          {entries.map((e, i) => (
            <tr key={i}>
              <td>{time(e.at)}</td>
              <td>{e.who}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>
                {Object.entries(e.target)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')}
              </td>
              <td>
                <code>{e.details ?? ''}</code>
              </td>
              <td class="num">{e.status}</td>
              <td>{e.ui ? 'dashboard' : 'API'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
