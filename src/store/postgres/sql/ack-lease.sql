-- Completes the jobs whose current leases the tokens name, then leases up to $3 jobs of queue $1
-- in lease order: either part may be empty. A worker's acks ride with its next lease, one
-- statement and one commit for both instead of one each (issue 15: at c=1 the acks were a
-- statement per job beside the lease, and the worker fell behind 500 adds/s); every other ack is
-- this statement with no lease ($1 null, $3 0).
-- $1 queue text (null: no lease), $2 now float8, $3 limit integer, $4 visibility float8 (null:
-- each job's own), $5 channel text, $6 origin text, $7 ids bigint[] (no id twice), $8 attempts
-- integer[], $9 results bytea[], $10 the acks' now float8, $11 ack scope queues text[] (null:
-- every queue), $12 ack scope prefixes text[].
-- Acks: acked jobs are kept as completed or dropped at once, as their queue's retention says.
-- `acked_id` and `acked_queue`: the jobs completed (null when none).
-- Lease: one row per job leased, or a single row of nulls but `due`: true when the queue has
-- ended leases or TTLs to apply first (settle.sql), and the lease took nothing. `next_at`: the
-- queue's next due time after this lease, when it took fewer than $3 (the jobs acked here left
-- out). `wake_by`: the queue's (null when it has no row): when it is past `now` and no earlier
-- than `next_at`, every lease that sleeps on this answer is woken in time already, and told.sql
-- would change nothing. The queue row is read FOR SHARE: see told() in 001-jobs.sql.
-- `events`: the ended and due events sent (a dropped job's result rides along when it is 3,000
-- bytes or less); parsed once, not once per row (most of the worker's time at c=64, issue 15).
-- A statement that acked nothing commits without waiting for its WAL flush (synchronous_commit
-- off for this transaction only): the contract lets a lease answer before it is durable, since a
-- lease lost in a crash only hands the job out again; the ack that follows it is durable, and its
-- flush carries the lease's commit with it.
WITH input AS (
  SELECT * FROM unnest($7::bigint[], $8::integer[], $9::bytea[]) AS i (id, attempt, result)
), target AS (
  SELECT j.id, j.queue, i.result,
    coalesce(qs.keep_count > 0 AND qs.keep_age > 0, true) AS keep
  FROM input i
  JOIN spool.jobs j ON j.id = i.id
  LEFT JOIN spool.queues qs ON qs.name = j.queue
  WHERE j.state = 'active' AND j.attempts = i.attempt AND j.until > $10
    AND (j.expires_at IS NULL OR j.expires_at > $10)
    AND ($11::text[] IS NULL OR j.queue = ANY ($11) OR EXISTS (SELECT 1 FROM unnest($12::text[]) p WHERE starts_with(j.queue, p)))
  ORDER BY j.id
  FOR UPDATE OF j
), done AS (
  UPDATE spool.jobs j SET state = 'completed', result = t.result, until = $10, finish = nextval('spool.finishes')
  FROM target t WHERE j.id = t.id AND t.keep
  RETURNING j.id, j.queue
), gone AS (
  DELETE FROM spool.jobs j USING target t WHERE j.id = t.id AND NOT t.keep
  RETURNING j.id, j.queue, t.result
), acked AS (
  SELECT array_agg(id) AS ids, array_agg(queue) AS queues
  FROM (SELECT id, queue FROM done UNION ALL SELECT id, queue FROM gone) a
), ended AS (
  SELECT jsonb_agg(e) AS events FROM (
    SELECT jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', 'completed') AS e FROM done
    UNION ALL
    SELECT jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', 'completed')
      || CASE WHEN result IS NULL THEN jsonb_build_object('result', null)
              WHEN octet_length(result) <= 3000 THEN jsonb_build_object('result', encode(result, 'base64'))
              ELSE '{}'::jsonb END
    FROM gone
  ) x
), q AS (
  SELECT wake_by, paused FROM spool.queues WHERE name = $1 FOR SHARE
), due AS (
  SELECT EXISTS (SELECT 1 FROM spool.jobs WHERE queue = $1 AND state = 'active' AND until <= $2)
      OR EXISTS (SELECT 1 FROM spool.jobs WHERE queue = $1 AND expires_at <= $2) AS due
), picked AS (
  SELECT id FROM spool.jobs
  WHERE queue = $1 AND state = 'queued' AND available_at <= $2
    AND (expires_at IS NULL OR expires_at > $2)
    AND NOT (SELECT due FROM due)
    AND NOT coalesce((SELECT paused FROM q), false)
  ORDER BY priority DESC, available_at, id
  LIMIT $3
  FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE spool.jobs j
  SET state = 'active', attempts = j.attempts + 1, until = $2 + coalesce($4::float8, j.visibility_ms)
  FROM picked WHERE j.id = picked.id
  RETURNING j.*
), ev AS (
  SELECT nullif(coalesce((SELECT events FROM ended), '[]') || coalesce((
    SELECT jsonb_build_array(jsonb_build_object('kind', 'due', 'queue', $1::text, 'at', m.at))
    FROM (SELECT min(until) AS at FROM leased) m, q
    WHERE m.at < q.wake_by
  ), '[]'), '[]') AS events
), told AS (
  SELECT spool.tell($5, $6, events) FROM ev WHERE events IS NOT NULL
)
SELECT m.due, m.next_at, m.wake_by, m.events, m.told, m.quick, m.acked_id, m.acked_queue, l.*
FROM (
  SELECT (SELECT due FROM due) AS due,
    -- Only a lease short of jobs needs it (a full one does not sleep). spool.next_at's body, not a
    -- call: a SQL function with subqueries is not inlined but planned again at every call, half
    -- of an empty lease's server time (~250 of 500 us, issue 15). The jobs acked here are
    -- active in this statement's snapshot, but their leases end now.
    CASE WHEN (SELECT count(*) FROM leased) < $3 THEN least(
      (SELECT min(available_at) FROM spool.jobs WHERE queue = $1 AND state = 'queued' AND available_at > $2),
      (SELECT min(until) FROM spool.jobs j WHERE queue = $1 AND state = 'active'
        AND NOT EXISTS (SELECT 1 FROM target t WHERE t.id = j.id))
    ) END AS next_at,
    (SELECT wake_by FROM q) AS wake_by,
    (SELECT events FROM ev) AS events,
    (SELECT * FROM told) AS told,
    (SELECT ids FROM acked) AS acked_id,
    (SELECT queues FROM acked) AS acked_queue,
    (SELECT set_config('synchronous_commit', CASE WHEN (SELECT ids FROM acked) IS NULL THEN 'off'
      ELSE current_setting('synchronous_commit') END, true)) AS quick
) m
LEFT JOIN leased l ON true
ORDER BY l.priority DESC, l.available_at, l.id
