-- spool's SQLite schema, version 3: spool_jobs again, its CHECK on `state` written as a chain of
-- comparisons, not `state IN (…)`. SQLite evaluates an IN of more than two values through an
-- ephemeral table built at each run of a statement that sets the column: every lease and every
-- ack opened one (a b-tree, a page cache, a zeroed page) and no UPDATE of a job could run in one
-- pass (callgrind, e2e-c64: 3 b-tree opens a job, their zeroed pages alone 5% of all instructions).
-- The table is rebuilt, since SQLite cannot alter a CHECK; rows and indexes are as they were.
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
  state TEXT NOT NULL
    CHECK (state = 'waiting' OR state = 'delayed' OR state = 'active' OR state = 'dead' OR state = 'completed'),
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
INSERT INTO spool_jobs SELECT * FROM spool_jobs_v2;
DROP TABLE spool_jobs_v2;

-- One partial index a duty, as in version 1: the lease order, due delays, ended leases, TTLs, finished jobs.
CREATE INDEX spool_jobs_waiting ON spool_jobs (queue, priority DESC, available_at, seq) WHERE state = 'waiting';
CREATE INDEX spool_jobs_delayed ON spool_jobs (queue, available_at, seq) WHERE state = 'delayed';
CREATE INDEX spool_jobs_active ON spool_jobs (queue, until, seq) WHERE state = 'active';
CREATE INDEX spool_jobs_dead ON spool_jobs (queue, finish) WHERE state = 'dead';
CREATE INDEX spool_jobs_completed ON spool_jobs (queue, finish) WHERE state = 'completed';
CREATE INDEX spool_jobs_ttl ON spool_jobs (queue, expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX spool_jobs_key ON spool_jobs (queue, key) WHERE key IS NOT NULL;
