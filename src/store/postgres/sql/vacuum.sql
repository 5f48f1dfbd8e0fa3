-- Makes the space of the rows that leases, acks and prunes left behind reusable, so that the jobs
-- table and its indexes level off under churn; run by the store itself, since a server may run
-- without autovacuum (this project's test servers do) or let it fall behind a queue's churn.
-- spool.counts takes a new row version at every write of a queue's jobs; spool.watches one at
-- every waitFor.
-- No parameters.
VACUUM spool.jobs, spool.counts, spool.watches
