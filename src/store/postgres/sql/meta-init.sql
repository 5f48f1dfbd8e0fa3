-- Stores a meta document unless one of that name is there; answers the stored value.
-- $1 name text, $2 value text.
WITH made AS (
  INSERT INTO spool.meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
)
SELECT value FROM made UNION ALL SELECT value FROM spool.meta WHERE name = $1
