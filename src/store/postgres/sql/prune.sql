-- Drops the completed jobs past their queue's retention (keep_count newest, none older than
-- keep_age), silently.
-- $1 queues text[], $2 now float8.
DELETE FROM spool.jobs j USING (
  SELECT c.id FROM (
    SELECT x.id, x.until, q.keep_count, q.keep_age,
      row_number() OVER (PARTITION BY x.queue ORDER BY x.finish DESC) AS rank
    FROM spool.jobs x JOIN spool.queues q ON q.name = x.queue
    WHERE x.queue = ANY ($1) AND x.state = 'completed'
  ) c
  WHERE c.rank > c.keep_count OR c.until <= $2 - c.keep_age
) doomed
WHERE j.id = doomed.id
