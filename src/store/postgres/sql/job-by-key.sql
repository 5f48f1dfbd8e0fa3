-- The job holding key $2 in queue $1.
-- $1 queue text, $2 key text.
SELECT id FROM spool.jobs WHERE queue = $1 AND key = $2
