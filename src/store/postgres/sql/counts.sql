-- Each queue's jobs by state at $2, its expired count and pause: waiting, active, dead and
-- completed from the queue's counters (spool.counts, 003-counts.sql), whatever the backlog;
-- delayed jobs counted over jobs_delay (004-delay-index.sql), so this reads as many jobs as are delayed.
-- $1 queues text[], $2 now float8.
SELECT n.name,
  coalesce(c.queued, 0) - coalesce(d.delayed, 0) AS waiting, coalesce(d.delayed, 0) AS delayed,
  coalesce(c.active, 0) AS active, coalesce(c.dead, 0) AS dead, coalesce(c.completed, 0) AS completed,
  coalesce(q.expired, 0) AS expired, coalesce(q.paused, false) AS paused
FROM unnest($1::text[]) WITH ORDINALITY AS n (name, i)
LEFT JOIN spool.queues q ON q.name = n.name
LEFT JOIN LATERAL (
  SELECT sum(queued)::float8 AS queued, sum(active)::float8 AS active, sum(dead)::float8 AS dead,
    sum(completed)::float8 AS completed
  FROM spool.counts WHERE queue = n.name
) c ON true
LEFT JOIN LATERAL (
  SELECT count(*)::float8 AS delayed FROM spool.jobs WHERE queue = n.name AND state = 'queued' AND available_at > created_at AND available_at > $2
) d ON true
ORDER BY n.i
