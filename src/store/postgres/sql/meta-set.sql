-- Writes meta documents; a null value deletes its name.
-- $1 names text[], $2 values text[].
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[]) AS i (name, value)
), deleted AS (
  DELETE FROM spool.meta WHERE name IN (SELECT name FROM input WHERE value IS NULL)
)
INSERT INTO spool.meta (name, value) SELECT name, value FROM input WHERE value IS NOT NULL
ON CONFLICT (name) DO UPDATE SET value = excluded.value
