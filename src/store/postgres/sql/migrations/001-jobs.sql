-- spool's PostgreSQL schema, version 1. Applied once, under the migration advisory lock, when
-- spool.migrations has no row 1; later versions go in later files (002-….sql), never by editing
-- this one. Every spool.<name> here is in the schema the store URL's `schema` parameter names
-- (statements.ts rewrites it, in comments too, so none here quotes it).
-- Times are milliseconds since the epoch (float8: core's clock may hand fractions).

-- A job's stored state: 'queued' is the contract's waiting (available_at <= now) and delayed
-- (available_at > now) at once, so a delay ends without a write: the lease reads available_at.
-- fillfactor 70: a lease and its ack rewrite the row twice in place; the free space keeps the
-- new versions on the row's own page.
CREATE TABLE spool.jobs (
  id bigint PRIMARY KEY,
  queue text NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'active', 'dead', 'completed')),
  priority integer NOT NULL,
  attempts integer NOT NULL,
  max_attempts float8 NOT NULL, -- 'Infinity': no limit
  nacks integer NOT NULL,
  created_at float8 NOT NULL,
  available_at float8 NOT NULL, -- when it becomes (became) leasable: its place in line after priority
  expires_at float8,
  until float8, -- the lease end while active, when it finished while dead or completed
  finish bigint, -- the order dead and completed jobs finished in (spool.finishes)
  visibility_ms float8 NOT NULL,
  backoff_kind text NOT NULL,
  backoff_delay_ms float8 NOT NULL,
  backoff_max_ms float8 NOT NULL,
  backoff_jitter float8 NOT NULL,
  key text,
  errors text[] NOT NULL,
  result bytea,
  payload bytea NOT NULL
) WITH (fillfactor = 70);

CREATE SEQUENCE spool.job_ids;
CREATE SEQUENCE spool.finishes;

-- The lease order (contract.ts): priority, then ready time, then the add order. The lease walks it
-- from the front, FOR UPDATE SKIP LOCKED, so its cost does not grow with the backlog.
CREATE INDEX jobs_lease ON spool.jobs (queue, priority DESC, available_at, id) WHERE state = 'queued';
-- The next delay to end (LeaseResult.nextAt) and the delayed list.
CREATE INDEX jobs_delay ON spool.jobs (queue, available_at, id) WHERE state = 'queued';
-- Ended leases to reclaim, the next lease end.
CREATE INDEX jobs_active ON spool.jobs (queue, until, id) WHERE state = 'active';
CREATE INDEX jobs_finished ON spool.jobs (queue, state, finish) WHERE state IN ('dead', 'completed');
CREATE INDEX jobs_ttl ON spool.jobs (queue, expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_key ON spool.jobs (queue, key) WHERE key IS NOT NULL;

CREATE TABLE spool.queues (
  name text PRIMARY KEY,
  known boolean NOT NULL DEFAULT false, -- it had an add or a configure (the queue list)
  expired bigint NOT NULL DEFAULT 0, -- jobs that went past their TTL
  -- Every lease blocked on the queue wakes by then, as the store told them (-Infinity: nobody
  -- told). A write that makes a job leasable earlier reads it FOR SHARE and sends a due event;
  -- told() sets it FOR UPDATE, so neither misses the other (see postgres-store.ts).
  wake_by float8 NOT NULL DEFAULT '-Infinity',
  -- The stored settings (contract.ts QueueSettings) as JSON, Infinity written as "inf"; null for
  -- the defaults. The columns below repeat what the statements enforce.
  settings jsonb,
  paused boolean NOT NULL DEFAULT false,
  max_length bigint,
  keep_count float8 NOT NULL DEFAULT 1000,
  keep_age float8 NOT NULL DEFAULT 86400000
);

-- Core's small documents (topic definitions) and the store's lease-token key.
CREATE TABLE spool.meta (
  name text PRIMARY KEY,
  value text NOT NULL
);

-- Sends `events` (a JSON array of StoreEvents) to every listening store as notifications of at
-- most 7,000 characters (PostgreSQL refuses 8,000 bytes), fired when the calling transaction
-- commits. Returns how many notifications it sent.
CREATE FUNCTION spool.tell(channel text, origin text, events jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  chunk jsonb := '[]';
  size integer := 0;
  sent integer := 0;
  ev jsonb;
BEGIN
  IF events IS NULL OR jsonb_array_length(events) = 0 THEN
    RETURN 0;
  END IF;
  FOR ev IN SELECT value FROM jsonb_array_elements(events) LOOP
    IF size > 0 AND size + length(ev::text) > 7000 THEN
      PERFORM pg_notify(channel, jsonb_build_object('o', origin, 'e', chunk)::text);
      sent := sent + 1;
      chunk := '[]';
      size := 0;
    END IF;
    chunk := chunk || jsonb_build_array(ev);
    size := size + length(ev::text) + 2;
  END LOOP;
  PERFORM pg_notify(channel, jsonb_build_object('o', origin, 'e', chunk)::text);
  RETURN sent + 1;
END $$;

-- The earliest time after `now` something in `q` becomes leasable by itself: a delay ends or a
-- lease ends (LeaseResult.nextAt); null for none.
CREATE FUNCTION spool.next_at(q text, now float8) RETURNS float8
LANGUAGE sql STABLE AS $$
  SELECT least(
    (SELECT min(available_at) FROM spool.jobs WHERE queue = q AND state = 'queued' AND available_at > now),
    (SELECT min(until) FROM spool.jobs WHERE queue = q AND state = 'active')
  )
$$;

-- A lease found nothing in `qs` at `now` and sleeps until the returned time at most (null: until
-- woken). The queue rows are locked first and next_at read after, each statement with a new
-- snapshot: a write that held a queue row FOR SHARE has committed by then, so its jobs count in
-- the answer; one that reads wake_by later sees this one and sends its due event.
CREATE FUNCTION spool.told(qs text[], now float8) RETURNS float8
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
      (SELECT min(available_at) FROM spool.jobs WHERE queue = q AND state = 'queued' AND available_at > now),
      (SELECT min(until) FROM spool.jobs WHERE queue = q AND state = 'active')
    ) INTO at;
    -- Once past, the leases it covered have woken and ask again, each telling its own time.
    UPDATE spool.queues
      SET wake_by = CASE WHEN wake_by <= now THEN coalesce(at, 'Infinity') ELSE greatest(wake_by, coalesce(at, 'Infinity')) END
      WHERE name = q;
    best := least(best, at);
  END LOOP;
  RETURN best;
END $$;

-- The contract's state of a row at `now`.
CREATE FUNCTION spool.state_at(state text, available_at float8, now float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN state <> 'queued' THEN state WHEN available_at > now THEN 'delayed' ELSE 'waiting' END
$$;
