-- A queue's stored settings, its row locked for a configure (created when missing, known from now).
-- $1 queue text.
WITH made AS (
  INSERT INTO spool.queues (name, known) VALUES ($1, true)
  ON CONFLICT (name) DO UPDATE SET known = true
  RETURNING settings, paused
)
SELECT settings, paused FROM made
