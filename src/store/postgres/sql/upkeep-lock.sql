-- Whether this session may do one upkeep of the jobs table now (vacuum.sql or analyze.sql): one
-- process at a time each (a session-level advisory lock, released by upkeep-unlock.sql).
-- $1 key text: the schema's name and the upkeep, as "spool.vacuum" or "spool.analyze".
SELECT pg_try_advisory_lock(hashtext($1)) AS locked
