// Overview: every queue and topic, live. The first answer brings ten minutes of samples; the
// server-sent stream adds one a second, so counts and charts move without a reload.
import { useEffect, useState } from 'preact/hooks';
import { api, retryMs, states, subscribe } from './api.ts';
import type { History, Snapshot } from './api.ts';
import { Chart } from './chart.tsx';
import { age, Failure, Head, href, rate, Section } from './common.tsx';

/** Charts show this many queues at most, the busiest first; the table shows all. */
const chartedQueues = 8;
const keptSamples = 600;

function useOverview(): { snapshot: Snapshot | null; history: History; failure: string | null } {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [history, setHistory] = useState<History>({});
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    // The first answer is asked again until it comes: one failure (a 5xx while the store is
    // down, a proxy's 502) left the page on `Loading…` until reloaded, with no word why.
    const start = (): void => {
      api<Snapshot & { history: History }>('GET', '/v1/overview').then(
        (answer) => {
          if (!stop.signal.aborted) follow(answer);
        },
        (error: Error) => {
          if (stop.signal.aborted) return;
          setFailure(error.message);
          setTimeout(start, retryMs);
        },
      );
    };
    const follow = ({ history: h, ...first }: Snapshot & { history: History }): void => {
      setFailure(null);
      setHistory(h);
      setSnapshot((s) => s ?? first);
      subscribe<Snapshot>(
        '/v1/overview/events',
        (next) => {
          setSnapshot(next);
          setHistory((old) => {
            const out: History = {};
            for (const q of next.queues) {
              const points = (old[q.name] ?? []).filter(([t]) => t < next.at);
              points.push([next.at, q.rateIn, q.rateOut, q.oldestMs]);
              out[q.name] = points.slice(-keptSamples);
            }
            return out;
          });
        },
        stop.signal,
      );
    };
    start();
    return () => stop.abort();
  }, []);
  return { snapshot, history, failure };
}

/** The history as uPlot wants it: one time axis, a series per queue. */
function series(history: History, names: readonly string[], field: 1 | 2 | 3) {
  const times = [...new Set(names.flatMap((n) => (history[n] ?? []).map(([t]) => t)))].sort((a, b) => a - b);
  const at = new Map(times.map((t, i) => [t, i]));
  return {
    times: times.map((t) => t / 1000),
    series: names.map((name) => {
      const values: (number | null)[] = times.map(() => null);
      for (const point of history[name] ?? []) values[at.get(point[0]) as number] = point[field];
      return { label: name, values };
    }),
  };
}

export function Overview() {
  const { snapshot, history, failure } = useOverview();
  if (snapshot === null) return failure === null ? <p>Loading…</p> : <Failure failure={failure} />;
  const busiest = [...snapshot.queues]
    .sort((a, b) => b.rateIn + b.rateOut + b.counts.waiting - (a.rateIn + a.rateOut + a.counts.waiting))
    .slice(0, chartedQueues)
    .map((q) => q.name)
    .sort();
  const perSecond = (n: number) => `${rate(n)}/s`;
  return (
    <>
      <Section title="Queues">
        {snapshot.queues.length === 0 ? (
          <p>No queues yet: add a job and it shows here.</p>
        ) : (
          <table class="grid" aria-label="Queues">
            <Head
              columns={[
                'Queue',
                ...states.map((num) => ({ num })),
                { num: 'in' },
                { num: 'out' },
                { num: 'next waiting' },
                { num: 'workers' },
                'status',
              ]}
            />
            <tbody>
              {snapshot.queues.map((q) => (
                <tr key={q.name} data-queue={q.name}>
                  <th scope="row">
                    <a href={href(['queues', q.name])}>{q.name}</a>
                  </th>
                  {states.map((s) => (
                    <td class="num" key={s} data-state={s}>
                      <a href={href(['queues', q.name], { state: s })} aria-label={`${q.counts[s]} ${s} in ${q.name}`}>
                        {q.counts[s].toLocaleString()}
                      </a>
                    </td>
                  ))}
                  <td class="num">{perSecond(q.rateIn)}</td>
                  <td class="num">{perSecond(q.rateOut)}</td>
                  <td class="num">{age(q.oldestMs)}</td>
                  <td class="num">{q.workers}</td>
                  <td>
                    {q.counts.paused && <span class="badge paused">paused</span>}
                    {q.unattended && (
                      <span
                        class="badge warn"
                        title="Jobs are waiting and no worker or consumer was seen on this queue"
                      >
                        waiting, no worker
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      {busiest.length > 0 && (
        <Section title="Last minutes">
          <div class="charts">
            <Chart title="Jobs in per second" format={rate} {...series(history, busiest, 1)} />
            <Chart title="Jobs out per second" format={rate} {...series(history, busiest, 2)} />
            <Chart title="Age of the next waiting job" format={age} {...series(history, busiest, 3)} />
          </div>
        </Section>
      )}
      <Section title="Topics">
        {snapshot.topics.length === 0 ? (
          <p>No topics.</p>
        ) : (
          <table class="grid" aria-label="Topics">
            <Head columns={['Topic', 'Subscribers']} />
            <tbody>
              {snapshot.topics.map((t) => (
                <tr key={t.name}>
                  <th scope="row">
                    <a href={href(['topics'], { topic: t.name })}>{t.name}</a>
                  </th>
                  <td>
                    {t.subscribers.map((s) => (
                      <a class="chip" key={s.name} href={href(['queues', s.queue])}>
                        {s.name}
                      </a>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
