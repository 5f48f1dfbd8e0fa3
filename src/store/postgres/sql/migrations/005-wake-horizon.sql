-- spool's PostgreSQL schema, version 5: a lease that finds nothing sleeps until `horizon` ms at
-- most, and records that time in wake_by when nothing falls due sooner. Before, a queue with no
-- due time had wake_by 'Infinity', so every lease of it sent a due event for its lease end, and
-- that pg_notify took PostgreSQL's one lock for notifying transactions, held by every add and ack
-- through its commit's WAL flush: an idle worker's next lease waited for other commits' fsyncs
-- (issue 15's add→handler latency). With the horizon no shorter than a lease, a lease sends no
-- event unless its visibility is shorter; the sleepers wake once a horizon to look again.
-- The two-argument told() of 001 stays for the spool processes of an older version still running
-- while their peers upgrade. A wake_by of 'Infinity' is one such a process told: it counts as past
-- here, so the queue gets a horizon at its next sleeper (an older process's sleeper then hears no
-- due event beyond it, and the newer ones look again by then).
CREATE FUNCTION spool.told(qs text[], now float8, horizon float8) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
  q text;
  at float8;
  best float8;
BEGIN
  INSERT INTO spool.queues (name) SELECT DISTINCT unnest(qs) ON CONFLICT (name) DO NOTHING;
  PERFORM 1 FROM spool.queues WHERE name = ANY (qs) ORDER BY name FOR UPDATE;
  FOREACH q IN ARRAY qs LOOP
    SELECT least(
      (SELECT min(available_at) FROM spool.jobs
        WHERE queue = q AND state = 'queued' AND available_at > created_at AND available_at > now),
      (SELECT min(until) FROM spool.jobs WHERE queue = q AND state = 'active'),
      now + horizon
    ) INTO at;
    -- Once past, the leases it covered have woken and ask again, each telling its own time.
    UPDATE spool.queues
      SET wake_by = CASE WHEN wake_by <= now OR wake_by = 'Infinity' THEN at ELSE greatest(wake_by, at) END
      WHERE name = q;
    best := least(best, at);
  END LOOP;
  RETURN best;
END $$;
