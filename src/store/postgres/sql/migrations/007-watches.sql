-- spool's PostgreSQL schema, version 7: an ack tells other processes only of the jobs somebody
-- waits for. Every ack used to send the ended event of each job it completed, for a waitFor in
-- another process that was almost never there; a transaction that notifies holds PostgreSQL's one
-- lock for notifying transactions through its commit's WAL flush, so every add and ack committed
-- after the one before it instead of sharing its flush (issue 15's add→handler latency, p99 12.8 ms).
--
-- A waitFor writes a row here (watch.sql) before its first look at the job, taking a share lock
-- on the job's row as it does, and deletes it when it is done (unwatch.sql). The ack asks
-- spool.watched for the jobs it ended after its own row locks: the function is volatile, so its
-- query takes a snapshot of its own. Either the watch took its lock first, and the ack's update
-- waited for it to commit and then sees the row; or the ack did, the watch waited for the ack to
-- commit, and the waitFor's first look, after the watch, reads the job as ended. A waitFor that
-- registered is never missed. The rows of a job the ack ended are deleted with it; rows of a
-- process that stopped without deleting its own go at the store's next vacuum.
-- A spool of an older version during an upgrade registers nothing: its waitFor hears the jobs
-- acked by its own version only.
CREATE TABLE spool.watches (
  ticket bigserial PRIMARY KEY,
  job bigint NOT NULL
);
CREATE INDEX watches_job ON spool.watches (job);

CREATE FUNCTION spool.watched(ids bigint[]) RETURNS bigint[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  found bigint[];
BEGIN
  WITH gone AS (
    DELETE FROM spool.watches WHERE job = ANY (ids) RETURNING job
  )
  SELECT array_agg(DISTINCT job) INTO found FROM gone;
  RETURN coalesce(found, '{}');
END $$;
