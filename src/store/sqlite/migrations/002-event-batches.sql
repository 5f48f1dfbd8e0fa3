-- spool's SQLite schema, version 2: a commit's events in one row of spool_events, not a row
-- each. A worker's group commit tells of 64 jobs ended at a time; an INSERT each was a tenth of
-- the cost of an ack. Events in flight when a file moves to version 2 are dropped: they only
-- wake other processes' watchers, and every process on a file must run the same schema version.
DROP TABLE spool_events;

-- What each commit tells watchers, for the other processes sharing the file: they read the
-- rows after their last one when PRAGMA data_version says another connection committed.
-- Rows older than a minute go.
CREATE TABLE spool_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL, -- the writing store's id: it skips its own
  written_at REAL NOT NULL, -- the writer's wall clock, for pruning only
  -- The commit's events, oldest first, as a JSON array of arrays (events.ts, format 1):
  -- ["ready", queue] | ["due", queue, at] | ["ended", queue, job id, end] |
  -- ["ended", queue, job id, end, result as base64 or null]: the 5-element form carries a result.
  events TEXT NOT NULL
);
