-- Releases vacuum-lock.sql's lock.
-- $1 key text (the schema's name).
SELECT pg_advisory_unlock(hashtext($1 || '.vacuum')) AS unlocked
