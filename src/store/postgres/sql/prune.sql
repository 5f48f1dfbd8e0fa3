-- Drops the completed and dead jobs past their queue's retention of each (keep_count newest
-- completed and none older than keep_age; keep_dead_count and keep_dead_age for dead ones),
-- silently.
-- $1 queues text[], $2 now float8.
--
-- Each part reads jobs_finished from its oldest end in index order, so a prune costs what it
-- drops, not what the queue keeps: those past the count are the oldest (count - keep) of them,
-- the count read from spool.counts; those past the age are looked for only when the oldest one
-- is. (Reading every kept job, ranked, took 5-50 ms a prune at 1,000 kept: its bitmap scan
-- also stepped over every index entry the prunes since the last vacuum had left, which an
-- index scan marks dead once and then skips.)
-- `x.state IN ('completed', 'dead')` beside `x.state = k.state` is what lets the planner use the
-- partial index jobs_finished for a state taken from the list (without it: a sequential scan).
DELETE FROM spool.jobs j USING (
  SELECT d.id FROM spool.queues q
  CROSS JOIN LATERAL (VALUES ('completed', q.keep_count, q.keep_age), ('dead', q.keep_dead_count, q.keep_dead_age))
    AS k (state, keep, age)
  CROSS JOIN LATERAL (
    (SELECT x.id FROM spool.jobs x
     WHERE k.keep < 'Infinity' AND x.queue = q.name AND x.state = k.state AND x.state IN ('completed', 'dead')
     ORDER BY x.finish
     LIMIT greatest((SELECT sum(CASE k.state WHEN 'dead' THEN c.dead ELSE c.completed END) FROM spool.counts c
                     WHERE c.queue = q.name) - k.keep, 0)::bigint)
    UNION
    (SELECT x.id FROM spool.jobs x
     WHERE k.age < 'Infinity' AND x.queue = q.name AND x.state = k.state AND x.state IN ('completed', 'dead')
       AND x.until <= $2 - k.age
       AND (SELECT o.until FROM spool.jobs o
            WHERE o.queue = q.name AND o.state = k.state AND o.state IN ('completed', 'dead')
            ORDER BY o.finish LIMIT 1) <= $2 - k.age)
  ) d
  WHERE q.name = ANY ($1)
) doomed
WHERE j.id = doomed.id
