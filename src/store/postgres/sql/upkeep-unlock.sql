-- Releases upkeep-lock.sql's lock.
-- $1 key text: the key upkeep-lock.sql took.
SELECT pg_advisory_unlock(hashtext($1)) AS unlocked
