-- Leases up to $3 jobs of queue $1 in lease order, FOR NO KEY UPDATE SKIP LOCKED over jobs_lease
-- (the lock its UPDATE takes anyway; a watch's key-share lock does not make it skip a job). A job
-- due when added is leasable whatever $2 says; the rest from their available_at (004-delay-index.sql).
-- $1 queue text, $2 now float8, $3 limit integer, $4 visibility float8 (null: each job's own),
-- $5 channel text, $6 origin text.
-- One row per job leased, or a single row of nulls but `due`: true when the queue has ended
-- leases or TTLs to apply first (settle.sql), and the lease took nothing. `next_at`: the
-- queue's next due time after this lease, when it took fewer than $3. `events`: the due event
-- sent (the queue row is read FOR SHARE: see told() in 005-wake-horizon.sql). `wake_by`: the queue's
-- (null when it has no row): while it is later than `now`, a lease that sleeps on this answer until
-- `next_at` or `wake_by`, whichever comes first, is woken in time, and told.sql is not needed.
-- `skipped`: when the lease took fewer than $3, whether it passed over leasable jobs that another
-- statement held locked.
-- `more`: when the lease took all $3, whether its snapshot held another job to lease (locked by
-- another lease or not): false tells the store that a lease now would find only jobs committed
-- since, so the worker's next lease waits for this process's adds on their way first instead of
-- coming back empty (issue 15: an idle worker fed 500 adds/s sent an empty lease per job).
-- The lease commits without waiting for its WAL flush (synchronous_commit off for this
-- transaction only): the contract lets a lease answer before it is durable, since a lease lost
-- in a crash only hands the job out again. The ack that follows is durable, and its flush
-- carries the lease's commit with it. At c=1 this halves the commits a job waits for (issue 15).
WITH q AS (
  SELECT wake_by, paused FROM spool.queues WHERE name = $1 FOR SHARE
), due AS (
  -- Each the first entry of its index, whatever the planner knows of the table: as EXISTS, the
  -- TTL part became a scan of the whole table once the statistics said few jobs have a TTL.
  SELECT coalesce((SELECT min(until) FROM spool.jobs WHERE queue = $1 AND state = 'active') <= $2, false)
      OR coalesce((SELECT min(expires_at) FROM spool.jobs WHERE queue = $1 AND expires_at IS NOT NULL) <= $2, false)
    AS due
), picked AS (
  SELECT id FROM spool.jobs
  WHERE queue = $1 AND state = 'queued' AND (available_at <= $2 OR available_at <= created_at)
    AND (expires_at IS NULL OR expires_at > $2)
    AND NOT (SELECT due FROM due)
    AND NOT coalesce((SELECT paused FROM q), false)
  ORDER BY priority DESC, available_at, id
  LIMIT $3
  FOR NO KEY UPDATE SKIP LOCKED
), leased AS (
  UPDATE spool.jobs j
  SET state = 'active', attempts = j.attempts + 1, until = $2 + coalesce($4::float8, j.visibility_ms)
  -- By key, whatever the plan's guess of how many were picked: as a join, a guess of a tenth of
  -- the table (LIMIT $3 in a plan for any value) made it a hash join over the whole table.
  WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
  RETURNING j.*
), ev AS (
  SELECT jsonb_build_array(jsonb_build_object('kind', 'due', 'queue', $1::text, 'at', m.at)) AS events
  FROM (SELECT min(until) AS at FROM leased) m, q
  WHERE m.at < q.wake_by
), told AS (
  SELECT spool.tell($5, $6, events) FROM ev
)
SELECT m.due, m.next_at, m.more, m.skipped, m.wake_by, m.events, m.told, m.quick, l.*
FROM (
  SELECT (SELECT due FROM due) AS due,
    -- Only a lease short of jobs needs it (a full one does not sleep). spool.next_at's body, not a
    -- call: a SQL function with subqueries is not inlined but planned again at every call, half
    -- of an empty lease's server time (~250 of 500 us, issue 15).
    CASE WHEN (SELECT count(*) FROM leased) < $3 THEN least(
      (SELECT min(available_at) FROM spool.jobs
        WHERE queue = $1 AND state = 'queued' AND available_at > created_at AND available_at > $2),
      (SELECT min(until) FROM spool.jobs WHERE queue = $1 AND state = 'active')
    ) END AS next_at,
    CASE WHEN (SELECT count(*) FROM leased) = $3 THEN (
      SELECT count(*) > $3 FROM (
        SELECT 1 FROM spool.jobs
        WHERE queue = $1 AND state = 'queued' AND (available_at <= $2 OR available_at <= created_at)
          AND (expires_at IS NULL OR expires_at > $2)
        -- In lease order, so that it reads jobs_lease from the front as `picked` does: unordered, it
        -- became a scan of the table from its start, past every job done so far.
        ORDER BY priority DESC, available_at, id
        LIMIT $3 + 1
      ) x
    ) END AS more,
    -- A lease short of jobs that passed over leasable jobs another statement held locked (an ack
    -- or a release of a lease that had run out holds its row a moment, changes nothing, and sends
    -- no event): the store asks again, or the job waited for the wake horizon.
    -- The snapshot, older than the lease's update, still holds the jobs leased as queued: more of
    -- them there than leased were passed over. Read in lease order, as `more` reads them.
    CASE WHEN (SELECT count(*) FROM leased) < $3 AND NOT (SELECT due FROM due)
        AND NOT coalesce((SELECT paused FROM q), false) THEN (
      SELECT count(*) > (SELECT count(*) FROM leased) FROM (
        SELECT 1 FROM spool.jobs
        WHERE queue = $1 AND state = 'queued' AND (available_at <= $2 OR available_at <= created_at)
          AND (expires_at IS NULL OR expires_at > $2)
        ORDER BY priority DESC, available_at, id
        LIMIT $3
      ) x
    ) END AS skipped,
    (SELECT wake_by FROM q) AS wake_by,
    (SELECT events FROM ev) AS events,
    (SELECT * FROM told) AS told,
    (SELECT set_config('synchronous_commit', 'off', true)) AS quick
) m
LEFT JOIN leased l ON true
ORDER BY l.priority DESC, l.available_at, l.id
