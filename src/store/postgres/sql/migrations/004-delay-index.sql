-- spool's PostgreSQL schema, version 4: jobs_delay holds only the jobs whose wait outlasts their
-- add (available_at > created_at: a delay, a back-off, a nack, a hold, a reclaimed lease), not
-- every queued job. An add of jobs due at once, by far the most common, writes one index entry
-- fewer per job: ~11% of a bulk add's server time (issue 15).
-- A job due when added is leasable at once by every process whatever its clock says, so one whose
-- clock is behind the adder's cannot see it as delayed, and the index holds every job a lease
-- may have to wait for. A job in the index is leasable from its available_at, as before.
DROP INDEX spool.jobs_delay;
CREATE INDEX jobs_delay ON spool.jobs (queue, available_at, id) WHERE state = 'queued' AND available_at > created_at;

-- The lease (lease.sql) computes the next due time inline.
DROP FUNCTION spool.next_at(text, float8);

-- told() reads the next delay to end over this index from 005-wake-horizon.sql on.

-- The contract's state of a row at `now` (records.ts stateAt). The three-argument state_at of
-- 001 stays for the processes of an older spool still running while their peers upgrade.
CREATE FUNCTION spool.state_at(state text, available_at float8, created_at float8, now float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN state <> 'queued' THEN state
    WHEN available_at > now AND available_at > created_at THEN 'delayed'
    ELSE 'waiting'
  END
$$;
