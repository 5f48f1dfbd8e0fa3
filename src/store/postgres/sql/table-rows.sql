-- The jobs table's rows as the last vacuum or analyze counted them; below 0 when none has.
-- No parameters.
SELECT reltuples::float8 AS rows FROM pg_class WHERE oid = 'spool.jobs'::regclass
