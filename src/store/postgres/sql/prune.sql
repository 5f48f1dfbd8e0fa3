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
-- The two states are written out, a part each, not taken from a list: the planner uses the
-- partial index jobs_finished only for a state it can read in the statement.
DELETE FROM spool.jobs j USING (
  SELECT d.id FROM spool.queues q CROSS JOIN LATERAL (
    (SELECT x.id FROM spool.jobs x
     WHERE q.keep_count < 'Infinity' AND x.queue = q.name AND x.state = 'completed'
     ORDER BY x.finish
     LIMIT greatest((SELECT sum(c.completed) FROM spool.counts c WHERE c.queue = q.name) - q.keep_count, 0)::bigint)
    UNION
    (SELECT x.id FROM spool.jobs x
     WHERE q.keep_age < 'Infinity' AND x.queue = q.name AND x.state = 'completed' AND x.until <= $2 - q.keep_age
       AND (SELECT o.until FROM spool.jobs o WHERE o.queue = q.name AND o.state = 'completed'
            ORDER BY o.finish LIMIT 1) <= $2 - q.keep_age)
    UNION
    (SELECT x.id FROM spool.jobs x
     WHERE q.keep_dead_count < 'Infinity' AND x.queue = q.name AND x.state = 'dead'
     ORDER BY x.finish
     LIMIT greatest((SELECT sum(c.dead) FROM spool.counts c WHERE c.queue = q.name) - q.keep_dead_count, 0)::bigint)
    UNION
    (SELECT x.id FROM spool.jobs x
     WHERE q.keep_dead_age < 'Infinity' AND x.queue = q.name AND x.state = 'dead' AND x.until <= $2 - q.keep_dead_age
       AND (SELECT o.until FROM spool.jobs o WHERE o.queue = q.name AND o.state = 'dead'
            ORDER BY o.finish LIMIT 1) <= $2 - q.keep_dead_age)
  ) d
  WHERE q.name = ANY ($1)
) doomed
WHERE j.id = doomed.id
