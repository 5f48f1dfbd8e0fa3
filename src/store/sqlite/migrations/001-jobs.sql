-- spool's SQLite schema, version 1. Applied once, in a transaction, when PRAGMA user_version is
-- below 1; later versions go in later files (002-….sql), never by editing this one.
-- Times are milliseconds since the epoch; states are the contract's names (contract.ts).

-- Store-wide counters: 'seq' numbers jobs (ids are never handed out twice, so an old lease
-- token cannot fit a new job).
CREATE TABLE spool_counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO spool_counters (name, value) VALUES ('seq', 0);

CREATE TABLE spool_queues (
  name TEXT PRIMARY KEY,
  known INTEGER NOT NULL, -- 1: it had an add or a configure (the queue list)
  expired INTEGER NOT NULL,
  -- Every lease blocked on the queue wakes by then, as the store told them (-Inf: nobody told).
  wake_by REAL NOT NULL,
  -- The stored settings (contract.ts QueueSettings) as JSON, Infinity written as "inf".
  settings TEXT NOT NULL,
  -- No completed job finished before this: pruning by age reads the oldest only from then on.
  prune_at REAL NOT NULL,
  -- The next number of the queue's finish order (spool_jobs.finish).
  finishes INTEGER NOT NULL,
  -- Nothing in the queue falls due by itself before this: calls read due jobs only from then on.
  due_at REAL NOT NULL,
  -- Jobs in each state, kept with every change: counts and the max-length check read one row.
  waiting INTEGER NOT NULL,
  delayed INTEGER NOT NULL,
  active INTEGER NOT NULL,
  dead INTEGER NOT NULL,
  completed INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE spool_jobs (
  seq INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('waiting', 'delayed', 'active', 'dead', 'completed')),
  priority INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  max_attempts REAL NOT NULL, -- Inf: no limit
  nacks INTEGER NOT NULL,
  created_at REAL NOT NULL,
  available_at REAL NOT NULL, -- when it becomes (became) leasable: its place in line after priority
  expires_at REAL,
  until REAL, -- the lease end while active, when it finished while dead or completed
  finish INTEGER, -- the order dead and completed jobs of the queue finished in
  visibility_ms REAL NOT NULL,
  backoff_kind TEXT NOT NULL,
  backoff_delay_ms REAL NOT NULL,
  backoff_max_ms REAL NOT NULL,
  backoff_jitter REAL NOT NULL,
  key TEXT,
  errors TEXT, -- a JSON array of strings, oldest first; NULL for none
  result BLOB,
  payload BLOB NOT NULL
);
-- One partial index a duty: the lease order, due delays, ended leases, TTLs, finished jobs.
CREATE INDEX spool_jobs_waiting ON spool_jobs (queue, priority DESC, available_at, seq) WHERE state = 'waiting';
CREATE INDEX spool_jobs_delayed ON spool_jobs (queue, available_at, seq) WHERE state = 'delayed';
CREATE INDEX spool_jobs_active ON spool_jobs (queue, until, seq) WHERE state = 'active';
CREATE INDEX spool_jobs_dead ON spool_jobs (queue, finish) WHERE state = 'dead';
CREATE INDEX spool_jobs_completed ON spool_jobs (queue, finish) WHERE state = 'completed';
CREATE INDEX spool_jobs_ttl ON spool_jobs (queue, expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX spool_jobs_key ON spool_jobs (queue, key) WHERE key IS NOT NULL;

-- Core's small documents (topic definitions) and the store's lease-token key.
CREATE TABLE spool_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- What each commit tells watchers, for the other processes sharing the file: they read the
-- rows after their last one when PRAGMA data_version says another connection committed.
-- Rows older than a minute go.
CREATE TABLE spool_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL, -- the writing store's id: it skips its own
  written_at REAL NOT NULL, -- the writer's wall clock, for pruning only
  kind TEXT NOT NULL CHECK (kind IN ('ready', 'due', 'ended')),
  queue TEXT NOT NULL,
  due_at REAL, -- due
  job TEXT, -- ended
  job_end TEXT, -- ended: completed, dead, removed or expired
  has_result INTEGER NOT NULL DEFAULT 0, -- ended: the event carries `result` (NULL = none)
  result BLOB
);
