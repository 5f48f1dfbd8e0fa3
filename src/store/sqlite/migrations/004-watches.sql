-- spool's SQLite schema, version 4: the jobs a waitFor watches. A commit tells the other
-- processes on the file (spool_events) of a job's end only while one of them watches the job:
-- every worker commit told every process of the 64 jobs it ended, each of them reading and parsing
-- the lot, for a waitFor almost never there (and wrote a fifth of the commit's WAL pages).
-- A watch is committed before the waitFor's first look at its job; a commit that ends the job
-- reads the watches under the write lock it holds from its start, so it sees every watch
-- committed before it, and a watch committed after it is followed by a look that finds the job
-- ended. The commit that tells of an end deletes the job's watches; the waitFor deletes its own
-- when it is done; a watch of a job that is gone is swept (sqlite-store.ts).
CREATE TABLE spool_watches (
  job INTEGER NOT NULL, -- spool_jobs.seq
  ticket TEXT NOT NULL, -- the watching store's id and a number of its own
  PRIMARY KEY (job, ticket)
) WITHOUT ROWID;
