-- Drops the completed and dead jobs past their queue's retention of each (keep_count newest
-- completed and none older than keep_age; keep_dead_count and keep_dead_age for dead ones),
-- silently.
-- $1 queues text[], $2 now float8.
DELETE FROM spool.jobs j USING (
  SELECT c.id FROM (
    SELECT x.id, x.until,
      CASE WHEN x.state = 'dead' THEN q.keep_dead_count ELSE q.keep_count END AS keep,
      CASE WHEN x.state = 'dead' THEN q.keep_dead_age ELSE q.keep_age END AS age,
      row_number() OVER (PARTITION BY x.queue, x.state ORDER BY x.finish DESC) AS rank
    FROM spool.jobs x JOIN spool.queues q ON q.name = x.queue
    WHERE x.queue = ANY ($1) AND x.state IN ('completed', 'dead')
      -- A queue that keeps every dead job reads none of them.
      AND (x.state = 'completed' OR q.keep_dead_count < 'Infinity' OR q.keep_dead_age < 'Infinity')
  ) c
  WHERE c.rank > c.keep OR c.until <= $2 - c.age
) doomed
WHERE j.id = doomed.id
