-- Moves a current lease's end to $3 + $4. An end sooner than it was (job.extend('1m') on a lease
-- of an hour) is told to the blocked leases when they sleep past it, as nack.sql tells a delay:
-- the queue row read FOR SHARE (see told() in 005-wake-horizon.sql), and only then.
-- $1 id bigint, $2 attempt integer, $3 now float8, $4 ms float8, $5 channel text, $6 origin text.
-- One row when the lease was current: its new `until`, and the `events` sent.
WITH job AS (
  SELECT id, until AS was FROM spool.jobs
  WHERE id = $1 AND state = 'active' AND attempts = $2 AND until > $3 AND (expires_at IS NULL OR expires_at > $3)
  FOR NO KEY UPDATE
), moved AS (
  UPDATE spool.jobs j SET until = $3 + $4
  FROM job WHERE j.id = job.id
  RETURNING j.queue, j.until, job.was
), watched AS (
  SELECT wake_by FROM spool.queues
  WHERE name = (SELECT queue FROM moved WHERE until < was)
  FOR SHARE
), ev AS (
  SELECT jsonb_build_array(jsonb_build_object('kind', 'due', 'queue', m.queue, 'at', m.until)) AS events
  FROM moved m, watched w
  WHERE m.until < w.wake_by
), told AS (
  SELECT spool.tell($5, $6, events) AS n FROM ev
)
SELECT m.until, (SELECT events FROM ev) AS events, (SELECT n FROM told) AS told FROM moved m
