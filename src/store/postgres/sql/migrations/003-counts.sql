-- spool's PostgreSQL schema, version 3: each queue's jobs counted by stored state, kept by
-- statement-level triggers on spool.jobs, so that counts() and a queue's max length read a few
-- rows instead of every job of the queue (issue 15: both grew with the backlog). Triggers, not
-- the store's statements, keep them: every write counts, a user's own SQL and an older spool's
-- statements included.

-- A queue's counters are spread over slots, rows that add up to its counts: a write takes any
-- slot no open transaction holds (FOR UPDATE SKIP LOCKED) and makes a new one when all are
-- held, so writers never wait for one another's commits, a user's long transaction included.
-- The slots of a queue are as many as its writers ever were at once.
CREATE TABLE spool.counts (
  queue text NOT NULL,
  slot integer NOT NULL,
  queued bigint NOT NULL DEFAULT 0, -- waiting and delayed (told apart by available_at at read time)
  active bigint NOT NULL DEFAULT 0,
  dead bigint NOT NULL DEFAULT 0,
  completed bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, slot)
);

-- Adds the deltas to a slot of queue `q`.
CREATE FUNCTION spool.count(q text, dq bigint, da bigint, dd bigint, dc bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  s integer;
BEGIN
  LOOP
    SELECT slot INTO s FROM spool.counts WHERE queue = q LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
      UPDATE spool.counts SET queued = queued + dq, active = active + da, dead = dead + dd, completed = completed + dc
      WHERE queue = q AND slot = s;
      RETURN;
    END IF;
    INSERT INTO spool.counts (queue, slot, queued, active, dead, completed)
    VALUES (q, floor(random() * 2147483647)::integer, dq, da, dd, dc)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      RETURN;
    END IF;
  END LOOP;
END $$;

-- Counts a statement's changes to spool.jobs: its new rows in, its old rows out, by queue. Each
-- branch names only the transition tables its event has.
CREATE FUNCTION spool.count_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM spool.count(queue, q, a, d, c) FROM (
      SELECT queue, count(*) FILTER (WHERE state = 'queued') AS q, count(*) FILTER (WHERE state = 'active') AS a,
        count(*) FILTER (WHERE state = 'dead') AS d, count(*) FILTER (WHERE state = 'completed') AS c
      FROM new_rows GROUP BY queue
    ) x;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM spool.count(queue, -q, -a, -d, -c) FROM (
      SELECT queue, count(*) FILTER (WHERE state = 'queued') AS q, count(*) FILTER (WHERE state = 'active') AS a,
        count(*) FILTER (WHERE state = 'dead') AS d, count(*) FILTER (WHERE state = 'completed') AS c
      FROM old_rows GROUP BY queue
    ) x;
  ELSE
    PERFORM spool.count(queue, q, a, d, c) FROM (
      SELECT queue, sum(q) AS q, sum(a) AS a, sum(d) AS d, sum(c) AS c FROM (
        SELECT queue, (state = 'queued')::integer AS q, (state = 'active')::integer AS a,
          (state = 'dead')::integer AS d, (state = 'completed')::integer AS c
        FROM new_rows
        UNION ALL
        SELECT queue, -(state = 'queued')::integer, -(state = 'active')::integer,
          -(state = 'dead')::integer, -(state = 'completed')::integer
        FROM old_rows
      ) y
      GROUP BY queue
    ) x
    -- A write that moved no job between states (an extend, a hold) counts nothing.
    WHERE q <> 0 OR a <> 0 OR d <> 0 OR c <> 0;
  END IF;
  RETURN NULL;
END $$;

-- The counts of the jobs already there, taken with writers shut out until the triggers are in.
LOCK TABLE spool.jobs IN SHARE MODE;
INSERT INTO spool.counts (queue, slot, queued, active, dead, completed)
SELECT queue, 0, count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'active'),
  count(*) FILTER (WHERE state = 'dead'), count(*) FILTER (WHERE state = 'completed')
FROM spool.jobs GROUP BY queue;

CREATE TRIGGER jobs_counted_insert AFTER INSERT ON spool.jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spool.count_jobs();
CREATE TRIGGER jobs_counted_update AFTER UPDATE ON spool.jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spool.count_jobs();
CREATE TRIGGER jobs_counted_delete AFTER DELETE ON spool.jobs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spool.count_jobs();
