-- Puts queues in the queue list (the first add of each, as far as this process knows).
-- $1 queues text[].
INSERT INTO spool.queues (name, known) SELECT DISTINCT unnest($1::text[]), true
ON CONFLICT (name) DO UPDATE SET known = true WHERE NOT spool.queues.known
