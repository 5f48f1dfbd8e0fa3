// What every page shares: the session (who is logged in, whether they may act), the confirm
// dialog, the route, a table's head row, the one-field form that names a new thing, and small
// formatting helpers.
import { createContext } from 'preact';
import type { ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Whoami } from './api.ts';

export interface Session {
  readonly whoami: Whoami;
  /** May act (retry, delete, pause …): the token has the admin scope. Without it every action is hidden. */
  readonly admin: boolean;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('no session');
  return session;
}

/** The hash route: `#/queues/jobs?state=dead` → path ['queues', 'jobs'] and its query. */
export interface Route {
  readonly path: readonly string[];
  readonly query: URLSearchParams;
}

function readRoute(): Route {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = (): void => setRoute(readRoute());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(path: readonly string[], query: Record<string, string> = {}): string {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString();
  return `#/${path.map(encodeURIComponent).join('/')}${q === '' ? '' : `?${q}`}`;
}

export function go(path: readonly string[], query: Record<string, string> = {}): void {
  location.hash = href(path, query);
}

interface Asked {
  readonly question: string;
  readonly action: string;
  readonly danger: boolean;
  readonly resolve: (ok: boolean) => void;
}

let ask: ((asked: Asked) => void) | null = null;

/** Asks the user to confirm an action in a modal dialog; resolves true when they do. */
export function confirm(question: string, action: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    if (ask === null) resolve(false);
    else ask({ question, action, danger, resolve });
  });
}

/** The one confirm dialog of the page (a native <dialog>: focus kept inside, Escape cancels). */
export function ConfirmDialog() {
  const [asked, setAsked] = useState<Asked | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ask = setAsked;
    return () => {
      ask = null;
    };
  }, []);
  useEffect(() => {
    if (asked !== null) dialog.current?.showModal();
  }, [asked]);
  const answer = (ok: boolean): void => {
    dialog.current?.close();
    asked?.resolve(ok);
    setAsked(null);
  };
  return (
    <dialog ref={dialog} aria-labelledby="confirm-question" onCancel={() => answer(false)}>
      <p id="confirm-question">{asked?.question}</p>
      <div class="buttons">
        <button type="button" onClick={() => answer(false)}>
          Cancel
        </button>
        <button type="button" class={asked?.danger === true ? 'danger' : 'primary'} onClick={() => answer(true)}>
          {asked?.action}
        </button>
      </div>
    </dialog>
  );
}

/** A message for the user after an action or a failure, read out by screen readers. */
export function Notice({ notice }: { notice: { text: string; error: boolean } | null }) {
  return (
    <p role="status" aria-live="polite" class={notice?.error === true ? 'notice error' : 'notice'}>
      {notice?.text ?? ''}
    </p>
  );
}

export function useNotice() {
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  /** Runs an action, telling the user how it went. */
  const run = async (action: () => Promise<string>): Promise<void> => {
    try {
      setNotice({ text: await action(), error: false });
    } catch (error) {
      setNotice({ text: error instanceof Error ? error.message : String(error), error: true });
    }
  };
  return { notice, setNotice, run };
}

/**
 * Calls `load` now and every `ms`, while the page shows. Returns why the last call failed (null
 * once one succeeds): a page that is refused (a token whose prefix does not reach it) or cannot
 * reach the server says so, rather than showing `Loading…` or stale numbers with no word.
 */
export function usePoll(load: () => Promise<void> | void, ms: number, deps: readonly unknown[]): string | null {
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    const once = (): void => {
      Promise.resolve()
        .then(load)
        .then(
          () => setFailure(null),
          (error: unknown) => setFailure(error instanceof Error ? error.message : String(error)),
        );
    };
    once();
    const timer = setInterval(once, ms);
    return () => clearInterval(timer);
  }, deps);
  return failure;
}

/** Why a page's data could not be read, from `usePoll`; nothing when it could. */
export function Failure({ failure }: { failure: string | null }) {
  return failure === null ? null : (
    <p role="alert" class="notice error">
      {failure}
    </p>
  );
}

export function time(ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toLocaleString();
}

/** A span of ms as `950ms`, `12s`, `4m 10s`, `3h 5m`. */
export function age(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export const rate = (n: number): string => (n === 0 ? '0' : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString());

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A column heading: a plain label, or `{ num }` for a column of numbers (right-aligned, as its cells). */
export type Column = string | { num: string };

/** A table's head row; `false` leaves a column out, `lead` goes before the labelled columns. */
export function Head({ columns, lead }: { columns: readonly (Column | false)[]; lead?: ComponentChildren }) {
  return (
    <thead>
      <tr>
        {lead}
        {columns.map((c) =>
          c === false ? null : typeof c === 'string' ? (
            <th scope="col" key={c}>
              {c}
            </th>
          ) : (
            <th scope="col" class="num" key={c.num}>
              {c.num}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** The one-field form that names a new thing (a topic, a subscriber); `create` says how it went. */
export function NameForm({
  label,
  action,
  panel = false,
  create,
}: {
  label: string;
  action: string;
  panel?: boolean;
  create: (name: string) => Promise<string>;
}) {
  const [name, setName] = useState('');
  const { notice, run } = useNotice();
  return (
    <>
      <form
        class={panel ? 'inline panel' : 'inline'}
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => create(name));
        }}
      >
        <label>
          {label} <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit">{action}</button>
      </form>
      <Notice notice={notice} />
    </>
  );
}
