-- Each queue's jobs by state at $2, its expired count and pause.
-- $1 queues text[], $2 now float8.
SELECT n.name,
  coalesce(c.waiting, 0) AS waiting, coalesce(c.delayed, 0) AS delayed, coalesce(c.active, 0) AS active,
  coalesce(c.dead, 0) AS dead, coalesce(c.completed, 0) AS completed,
  coalesce(q.expired, 0) AS expired, coalesce(q.paused, false) AS paused
FROM unnest($1::text[]) WITH ORDINALITY AS n (name, i)
LEFT JOIN spool.queues q ON q.name = n.name
LEFT JOIN LATERAL (
  SELECT
    count(*) FILTER (WHERE state = 'queued' AND available_at <= $2)::float8 AS waiting,
    count(*) FILTER (WHERE state = 'queued' AND available_at > $2)::float8 AS delayed,
    count(*) FILTER (WHERE state = 'active')::float8 AS active,
    count(*) FILTER (WHERE state = 'dead')::float8 AS dead,
    count(*) FILTER (WHERE state = 'completed')::float8 AS completed
  FROM spool.jobs WHERE queue = n.name
) c ON true
ORDER BY n.i
