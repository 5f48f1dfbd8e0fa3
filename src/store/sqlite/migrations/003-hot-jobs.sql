-- spool's SQLite schema, version 3: a job's row splits in two. spool_jobs keeps what a lease or
-- an ack changes, orders by or looks up (state, attempts, times, key); spool_bodies keeps what
-- they never touch (payload, settings, errors, result). A lease and an ack then rewrite a row of
-- about 40 bytes, not one carrying the payload (bench/sqlite-floor.ts: their UPDATEs cost half).
-- Both rows of a job come and go in the same transaction, so neither is ever without the other.
DROP INDEX spool_jobs_waiting;
DROP INDEX spool_jobs_delayed;
DROP INDEX spool_jobs_active;
DROP INDEX spool_jobs_dead;
DROP INDEX spool_jobs_completed;
DROP INDEX spool_jobs_ttl;
DROP INDEX spool_jobs_key;
ALTER TABLE spool_jobs RENAME TO spool_jobs_v2;

CREATE TABLE spool_jobs (
  seq INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('waiting', 'delayed', 'active', 'dead', 'completed')),
  priority INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  available_at REAL NOT NULL, -- when it becomes (became) leasable: its place in line after priority
  expires_at REAL,
  until REAL, -- the lease end while active, when it finished while dead or completed
  finish INTEGER, -- the order dead and completed jobs of the queue finished in
  key TEXT
);
CREATE TABLE spool_bodies (
  seq INTEGER PRIMARY KEY, -- spool_jobs.seq
  max_attempts REAL NOT NULL, -- Inf: no limit
  nacks INTEGER NOT NULL,
  created_at REAL NOT NULL,
  visibility_ms REAL NOT NULL,
  backoff_kind TEXT NOT NULL,
  backoff_delay_ms REAL NOT NULL,
  backoff_max_ms REAL NOT NULL,
  backoff_jitter REAL NOT NULL,
  errors TEXT, -- a JSON array of strings, oldest first; NULL for none
  result BLOB,
  payload BLOB NOT NULL
);
INSERT INTO spool_jobs
  SELECT seq, queue, state, priority, attempts, available_at, expires_at, until, finish, key FROM spool_jobs_v2;
INSERT INTO spool_bodies
  SELECT seq, max_attempts, nacks, created_at, visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms,
    backoff_jitter, errors, result, payload FROM spool_jobs_v2;
DROP TABLE spool_jobs_v2;

-- One partial index a duty, as in version 1: the lease order, due delays, ended leases, TTLs, finished jobs.
CREATE INDEX spool_jobs_waiting ON spool_jobs (queue, priority DESC, available_at, seq) WHERE state = 'waiting';
CREATE INDEX spool_jobs_delayed ON spool_jobs (queue, available_at, seq) WHERE state = 'delayed';
CREATE INDEX spool_jobs_active ON spool_jobs (queue, until, seq) WHERE state = 'active';
CREATE INDEX spool_jobs_dead ON spool_jobs (queue, finish) WHERE state = 'dead';
CREATE INDEX spool_jobs_completed ON spool_jobs (queue, finish) WHERE state = 'completed';
CREATE INDEX spool_jobs_ttl ON spool_jobs (queue, expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX spool_jobs_key ON spool_jobs (queue, key) WHERE key IS NOT NULL;
