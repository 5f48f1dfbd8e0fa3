-- Completes the jobs whose current leases the tokens name; kept as completed or dropped at once,
-- as the queue's retention says. Every ack of one tick is this one statement.
-- $1 ids bigint[] (no id twice), $2 attempts integer[], $3 results bytea[], $4 now float8,
-- $5 scope queues text[] (null: every queue), $6 scope prefixes text[], $7 channel text, $8 origin text,
-- $9 every boolean: tell every job's end, watched or not (an ack in the caller's transaction, which
-- may be REPEATABLE READ: there spool.watched reads the transaction's snapshot, not a fresh one).
-- One row per job completed: `id`, `queue`; the first row carries `events`, the ended events sent
-- (a dropped job's result rides along when it is 3,000 bytes or less): on every row, pg parsed the
-- JSON of n events n times, most of the worker's time at c=64 (issue 15). Events go only for the
-- jobs some waitFor watches (007-watches.sql): spool.watched runs once the rows above are locked,
-- as the array of every id done or gone is built before it is called.
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bytea[]) AS i (id, attempt, result)
), target AS (
  SELECT j.id, j.queue, i.result,
    coalesce(q.keep_count > 0 AND q.keep_age > 0, true) AS keep
  FROM input i
  JOIN spool.jobs j ON j.id = i.id
  LEFT JOIN spool.queues q ON q.name = j.queue
  WHERE j.state = 'active' AND j.attempts = i.attempt AND j.until > $4
    AND (j.expires_at IS NULL OR j.expires_at > $4)
    AND ($5::text[] IS NULL OR j.queue = ANY ($5) OR EXISTS (SELECT 1 FROM unnest($6::text[]) p WHERE starts_with(j.queue, p)))
  ORDER BY j.id
  FOR UPDATE OF j
), done AS (
  UPDATE spool.jobs j SET state = 'completed', result = t.result, until = $4, finish = nextval('spool.finishes')
  FROM target t WHERE j.id = t.id AND t.keep
  RETURNING j.id, j.queue
), gone AS (
  DELETE FROM spool.jobs j USING target t WHERE j.id = t.id AND NOT t.keep
  RETURNING j.id, j.queue, t.result
), watched AS (
  SELECT spool.watched(ARRAY(SELECT id FROM done UNION ALL SELECT id FROM gone)) AS ids
), ev AS (
  SELECT jsonb_agg(e) AS events FROM (
    SELECT jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', 'completed') AS e FROM done
    WHERE $9 OR id = ANY ((SELECT ids FROM watched)::bigint[])
    UNION ALL
    SELECT jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', 'completed')
      || CASE WHEN result IS NULL THEN jsonb_build_object('result', null)
              WHEN octet_length(result) <= 3000 THEN jsonb_build_object('result', encode(result, 'base64'))
              ELSE '{}'::jsonb END
    FROM gone
    WHERE $9 OR id = ANY ((SELECT ids FROM watched)::bigint[])
  ) x
), told AS (
  SELECT spool.tell($7, $8, events) AS n FROM ev
)
SELECT r.id, r.queue, CASE WHEN row_number() OVER () = 1 THEN (SELECT events FROM ev) END AS events,
  (SELECT n FROM told) AS told
FROM (SELECT id, queue FROM done UNION ALL SELECT id, queue FROM gone) r
