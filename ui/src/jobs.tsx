// A queue's jobs in one state: paging with the store's cursor, search by id or payload (a
// bounded scan the server pages through), a selection, and actions on the selection or on
// every job matching the filter, each after a confirmation.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, queuePath, retryMs } from './api.ts';
import type { Job, JobState } from './api.ts';
import { confirm, Failure, Head, href, Notice, time, useNotice, useSession } from './common.tsx';

interface Page {
  jobs: Job[];
  cursor: string | null;
  scanned: number;
}

const pageSize = 50;

type BulkAction = 'retry' | 'promote' | 'remove';
/** Each action's verb: on its button, while it runs, and once done. */
const bulkVerbs: Readonly<Record<BulkAction, readonly [string, string, string]>> = {
  retry: ['Retry', 'Retrying', 'Retried'],
  promote: ['Promote', 'Promoting', 'Promoted'],
  remove: ['Delete', 'Deleting', 'Deleted'],
};
/** The action only one state's jobs take (the server refuses it for the others). */
const ownAction: Partial<Record<JobState, BulkAction>> = { dead: 'retry', delayed: 'promote' };

function preview(data: unknown): string {
  const text = JSON.stringify(data) ?? 'undefined';
  if (text.length <= 80) return text;
  // Not through a character outside the BMP (an emoji): half of it showed as a broken glyph.
  const cut = /[\uD800-\uDBFF]/.test(text[79] ?? '') ? 79 : 80;
  return `${text.slice(0, cut)}…`;
}

export function JobList({ queue, state, onChange }: { queue: string; state: JobState; onChange?: () => void }) {
  const { admin } = useSession();
  const [mode, setMode] = useState<'payload' | 'id'>('payload');
  const [input, setInput] = useState('');
  /** The search applied: the list shows its matches. */
  const [query, setQuery] = useState('');
  /** Cursors of the pages before this one, for Previous. */
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [reload, setReload] = useState(0);
  /** Why the list could not be read, until a read succeeds. */
  const [failure, setFailure] = useState<string | null>(null);
  const { notice, setNotice, run } = useNotice();
  const cursor = cursors.at(-1) ?? null;

  useEffect(() => {
    setCursors([null]);
    setSelected(new Set());
  }, [queue, state, query]);
  // A selection is of the jobs on screen: kept across pages, `Delete selected` on page 2 took the
  // jobs ticked on page 1, with no box ticked in sight.
  useEffect(() => setSelected(new Set()), [cursor]);

  useEffect(() => {
    let live = true;
    const load = async (): Promise<Page> => {
      if (mode === 'id' && query !== '') {
        try {
          const job = await api<Job>('GET', queuePath(queue, `/jobs/${encodeURIComponent(query)}`));
          return { jobs: [job], cursor: null, scanned: 1 };
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) return { jobs: [], cursor: null, scanned: 0 };
          throw error;
        }
      }
      const q = new URLSearchParams({ state, limit: String(pageSize), ...(query === '' ? {} : { q: query }) });
      if (cursor !== null) q.set('cursor', cursor);
      return api<Page>('GET', queuePath(queue, `/jobs?${q}`));
    };
    // A read that fails is said and tried again (a server restarting, a proxy's 502): before, the
    // list stayed on `Loading…` until the page was reloaded.
    let retry: ReturnType<typeof setTimeout> | undefined;
    load().then(
      (p) => {
        if (!live) return;
        setPage(p);
        setFailure(null);
      },
      (error: Error) => {
        if (!live) return;
        setFailure(error.message);
        retry = setTimeout(() => setReload((n) => n + 1), retryMs);
      },
    );
    return () => {
      live = false;
      clearTimeout(retry);
    };
  }, [queue, state, query, mode, cursor, reload]);

  const refresh = (): void => {
    setSelected(new Set());
    setReload((n) => n + 1);
    onChange?.();
  };
  const toggle = (id: string): void => {
    const next = new Set(selected);
    if (!next.delete(id)) next.add(id);
    setSelected(next);
  };
  const searching = mode === 'payload' && query !== '';
  const byId = mode === 'id' && query !== '';
  const filter = searching
    ? `${state} jobs whose payload holds “${query}”`
    : byId
      ? `${state} jobs with id “${query}”`
      : `${state} jobs`;

  const bulk = async (action: BulkAction, ids: readonly string[] | null): Promise<void> => {
    const [verb, doing, done] = bulkVerbs[action];
    // A search by id matches that one job (if it is in this state), not every job of the state:
    // the server is sent its id, since a bulk call without ids or q takes the whole state.
    const found = ids === null && byId ? (page?.jobs ?? []).filter((j) => j.state === state).map((j) => j.id) : null;
    if (found?.length === 0) return setNotice({ text: `No ${filter}.`, error: false });
    const what = ids === null ? `every one of the ${filter} in ${queue}` : `${ids.length} selected job(s)`;
    ids ??= found;
    if (!(await confirm(`${verb} ${what}?`, verb, action === 'remove'))) return;
    // Every match of a big queue takes a while: the user sees it is under way.
    setNotice({ text: `${doing}…`, error: false });
    await run(async () => {
      const body = { action, state, ...(ids === null ? (searching ? { q: query } : {}) : { ids }) };
      const { changed } = await api<{ changed: number }>('POST', queuePath(queue, '/jobs/bulk'), body);
      refresh();
      return `${done} ${changed} job(s).`;
    });
  };
  /** The action only this state's jobs take: retry the dead, promote the delayed. */
  const own = ownAction[state];

  return (
    <div class="jobs">
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(input.trim());
          // The same search again reads the list again.
          setReload((n) => n + 1);
        }}
      >
        <label>
          Search by{' '}
          <select
            value={mode}
            onChange={(e) => setMode(e.currentTarget.value as 'payload' | 'id')}
            aria-label="Search by"
          >
            <option value="payload">payload</option>
            <option value="id">id</option>
          </select>
        </label>
        <input
          type="search"
          aria-label={mode === 'id' ? 'Job id' : 'Text in the payload'}
          placeholder={mode === 'id' ? 'job id' : 'text in the payload'}
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
        />
        <button type="submit">Search</button>
        {query !== '' && (
          <button
            type="button"
            onClick={() => {
              setInput('');
              setQuery('');
            }}
          >
            Clear
          </button>
        )}
      </form>
      {admin && (
        <div class="toolbar" role="toolbar" aria-label="Actions on jobs">
          {own !== undefined && (
            <>
              <button type="button" disabled={selected.size === 0} onClick={() => void bulk(own, [...selected])}>
                {bulkVerbs[own][0]} selected
              </button>
              <button type="button" onClick={() => void bulk(own, null)}>
                {bulkVerbs[own][0]} all matching
              </button>
            </>
          )}
          <button
            type="button"
            class="danger"
            disabled={selected.size === 0}
            onClick={() => void bulk('remove', [...selected])}
          >
            Delete selected
          </button>
          <button type="button" class="danger" onClick={() => void bulk('remove', null)}>
            Delete all matching
          </button>
        </div>
      )}
      <Notice notice={notice} />
      <Failure failure={failure} />
      {page === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <table class="grid" aria-label={`${state} jobs of ${queue}`}>
            <Head
              lead={
                admin && (
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select every job on this page"
                      checked={page.jobs.length > 0 && page.jobs.every((j) => selected.has(j.id))}
                      onChange={(e) => setSelected(new Set(e.currentTarget.checked ? page.jobs.map((j) => j.id) : []))}
                    />
                  </th>
                )
              }
              columns={[
                'Id',
                'Payload',
                { num: 'Attempts' },
                'Created',
                state === 'dead' || state === 'completed' ? 'Finished' : 'Runs at',
                'Last error',
              ]}
            />
            <tbody>
              {page.jobs.map((job) => (
                <tr key={job.id} data-job={job.id}>
                  {admin && (
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select job ${job.id}`}
                        checked={selected.has(job.id)}
                        onChange={() => toggle(job.id)}
                      />
                    </td>
                  )}
                  <td>
                    <a href={href(['queues', queue, 'jobs', job.id])}>{job.id}</a>
                  </td>
                  <td>
                    <code>{preview(job.data)}</code>
                  </td>
                  <td class="num">
                    {job.attempts}/{job.maxAttempts ?? '∞'}
                  </td>
                  <td>{time(job.createdAt)}</td>
                  <td>{time(state === 'dead' || state === 'completed' ? job.finishedAt : job.runAt)}</td>
                  <td class="error-text">
                    <div>{job.lastError ?? ''}</div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.jobs.length === 0 && <p>{searching && page.cursor !== null ? 'No match yet.' : `No ${filter}.`}</p>}
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <button type="button" disabled={page.cursor === null} onClick={() => setCursors([...cursors, page.cursor])}>
              {searching ? 'Search on' : 'Next'}
            </button>
            {searching && <span>{page.scanned.toLocaleString()} jobs read for this page</span>}
          </nav>
        </>
      )}
    </div>
  );
}
