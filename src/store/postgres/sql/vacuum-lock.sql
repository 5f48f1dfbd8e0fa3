-- Whether this session may vacuum the jobs table now: one process at a time (a session-level
-- advisory lock, released by vacuum-unlock.sql).
-- $1 key text (the schema's name).
SELECT pg_try_advisory_lock(hashtext($1 || '.vacuum')) AS locked
