-- Settles a lease with a failure, a release or a requeue (contract.ts NackKind), if it is still current.
-- $1 id bigint, $2 attempt integer, $3 now float8, $4 delay_ms float8, $5 error text (null: none; a
-- requeue's is kept only when the job goes dead),
-- $6 kind text ('fail', 'dead', 'release' or 'requeue'), $7 channel text, $8 origin text.
-- One row when the lease was current: `state` as stored after ('queued' or 'dead'), its `queue`, `events` sent.
WITH job AS (
  SELECT id, queue, attempts, max_attempts FROM spool.jobs
  WHERE id = $1 AND state = 'active' AND attempts = $2 AND until > $3 AND (expires_at IS NULL OR expires_at > $3)
  FOR UPDATE
), fate AS (
  SELECT id, queue,
    CASE WHEN $6::text = 'release' THEN 'queued'
         WHEN $6 = 'dead' OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END AS state
  FROM job
), moved AS (
  UPDATE spool.jobs j SET
    state = f.state,
    attempts = CASE WHEN $6 = 'release' THEN j.attempts - 1 ELSE j.attempts END,
    nacks = CASE WHEN $6 IN ('release', 'requeue') THEN j.nacks ELSE least(j.nacks + 1, 65535) END,
    -- A requeue keeps its error only when it sends the job dead, as a reclaim keeps 'lease expired'.
    errors = CASE WHEN $6 = 'release' OR ($6 = 'requeue' AND f.state <> 'dead') OR $5::text IS NULL
                  THEN j.errors
                  ELSE (j.errors || $5::text)[greatest(1, cardinality(j.errors) - 8):] END,
    -- A requeue, and a release with no delay, go back to their old place in line. $4 as float8:
    -- compared to the integer 0 first, it was read as an integer, and a delay in fractions of a
    -- millisecond or past 2^31 ms (24.8 days) failed the nack.
    available_at = CASE WHEN f.state = 'dead' OR $6 = 'requeue' OR ($6 = 'release' AND $4::float8 <= 0)
                        THEN j.available_at ELSE $3 + $4 END,
    until = CASE WHEN f.state = 'dead' THEN $3 END,
    finish = CASE WHEN f.state = 'dead' THEN nextval('spool.finishes') END
  FROM fate f WHERE j.id = f.id
  RETURNING j.id, j.queue, j.state, j.available_at
), watched AS (
  SELECT name, wake_by FROM spool.queues WHERE name = (SELECT queue FROM moved) FOR SHARE
), ev AS (
  SELECT jsonb_agg(e) AS events FROM (
    SELECT CASE
      WHEN m.state = 'dead' THEN jsonb_build_object('kind', 'ended', 'queue', m.queue, 'id', m.id::text, 'end', 'dead')
      WHEN m.available_at <= $3 THEN jsonb_build_object('kind', 'ready', 'queue', m.queue)
      WHEN m.available_at < coalesce(w.wake_by, '-Infinity') THEN
        jsonb_build_object('kind', 'due', 'queue', m.queue, 'at', m.available_at)
    END AS e
    FROM moved m LEFT JOIN watched w ON w.name = m.queue
  ) x WHERE e IS NOT NULL
), told AS (
  SELECT spool.tell($7, $8, events) AS n FROM ev
)
SELECT m.state, m.queue, (SELECT events FROM ev) AS events, (SELECT n FROM told) AS told FROM moved m
