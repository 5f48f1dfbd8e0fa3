-- spool's PostgreSQL schema, version 2: a queue's retention of dead jobs (contract.ts keepDead),
-- as keep_count and keep_age are its retention of completed ones. By default every dead job is
-- kept for ever.
ALTER TABLE spool.queues
  ADD COLUMN keep_dead_count float8 NOT NULL DEFAULT 'Infinity',
  ADD COLUMN keep_dead_age float8 NOT NULL DEFAULT 'Infinity';
