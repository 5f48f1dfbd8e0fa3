// The dashboard's shell: token login (against the server's own auth), navigation, the light and
// dark themes, and the pages by hash route (the server serves one page, so no route needs it).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, saveToken, states, whenUnauthorized } from './api.ts';
import type { JobState, Whoami } from './api.ts';
import { ConfirmDialog, href, SessionContext, useRoute } from './common.tsx';
import { Overview } from './overview.tsx';
import { Audit, DeadLetters, Topics, Workers } from './pages.tsx';
import { JobPage, QueuePage } from './queue.tsx';
import './style.css';

type Theme = 'light' | 'dark';

function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(
    () =>
      (localStorage.getItem('spool.theme') as Theme | null) ??
      (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('spool.theme', theme);
  }, [theme]);
  return [theme, () => setTheme(theme === 'dark' ? 'light' : 'dark')];
}

function Login({ failed, onToken }: { failed: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="login">
      <h1>spool</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onToken(token.trim());
        }}
      >
        <label>
          Token
          <input
            type="password"
            autocomplete="current-password"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary">
          Log in
        </button>
        {failed !== null && (
          <p role="alert" class="notice error">
            {failed}
          </p>
        )}
      </form>
    </main>
  );
}

function Page() {
  const { path, query } = useRoute();
  const [first, second, third, fourth] = path;
  const stateParam = query.get('state');
  const state: JobState = states.includes(stateParam as JobState) ? (stateParam as JobState) : 'waiting';
  if (first === 'queues' && second !== undefined && third === 'jobs' && fourth !== undefined)
    return <JobPage key={`${second}/${fourth}`} queue={second} id={fourth} />;
  if (first === 'queues' && second !== undefined) return <QueuePage key={second} queue={second} state={state} />;
  if (first === 'dead') return <DeadLetters queue={second ?? null} />;
  if (first === 'topics') return <Topics selected={query.get('topic')} />;
  if (first === 'workers') return <Workers />;
  if (first === 'audit') return <Audit />;
  return <Overview />;
}

const sections = [
  { path: '', label: 'Overview' },
  { path: 'dead', label: 'Dead letters' },
  { path: 'topics', label: 'Topics' },
  { path: 'workers', label: 'Workers' },
  { path: 'audit', label: 'Audit log' },
];

function App() {
  const [theme, toggleTheme] = useTheme();
  const [whoami, setWhoami] = useState<Whoami | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [checking, setChecking] = useState(true);
  const { path } = useRoute();

  /** Asks the server who the saved token is; `submitted`: it was just typed in, so say if it is wrong. */
  const check = (submitted: boolean): void => {
    setChecking(true);
    api<Whoami>('GET', '/v1/whoami').then(
      (w) => {
        setWhoami(w);
        setFailed(null);
        setChecking(false);
      },
      (error: Error) => {
        setWhoami(null);
        const unauthorized = error instanceof ApiError && error.status === 401;
        if (unauthorized) saveToken(null);
        setFailed(unauthorized ? (submitted ? 'The server does not know this token.' : null) : error.message);
        setChecking(false);
      },
    );
  };
  useEffect(() => check(false), []);
  useEffect(() => {
    whenUnauthorized(() => {
      saveToken(null);
      setWhoami(null);
      setFailed('The server no longer accepts this token: log in again.');
    });
    return () => whenUnauthorized(null);
  }, []);

  if (checking) return <p>Loading…</p>;
  if (whoami === null)
    return (
      <Login
        failed={failed}
        onToken={(token) => {
          saveToken(token);
          check(true);
        }}
      />
    );
  const session = { whoami, admin: whoami.scopes.includes('admin') };
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href([])}>
          spool
        </a>
        <nav aria-label="Sections">
          {sections.map((s) => (
            <a
              key={s.path}
              href={href(s.path === '' ? [] : [s.path])}
              aria-current={(path[0] ?? '') === s.path ? 'page' : undefined}
            >
              {s.label}
            </a>
          ))}
        </nav>
        <div class="who">
          {!session.admin && <span class="badge">read-only</span>}
          <span>{whoami.who}</span>
          <button
            type="button"
            onClick={toggleTheme}
            aria-label={`Switch to the ${theme === 'dark' ? 'light' : 'dark'} theme`}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
          {whoami.auth && (
            <button
              type="button"
              onClick={() => {
                saveToken(null);
                setWhoami(null);
              }}
            >
              Log out
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
      <ConfirmDialog />
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
