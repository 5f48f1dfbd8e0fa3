-- Gives the planner the jobs table's statistics, run by the store itself as the table grows, since
-- a server may run without autovacuum (this project's test servers do) or analyze it too late.
-- The store's statements are planned once per connection for any values (plan_cache_mode), and
-- a plan made while the table had no statistics stays until they change: on a fresh table, filled
-- with 50,000 jobs and drained, the lease sorted every queued job (a bitmap scan of jobs_lease)
-- and the ack looked up each id through jobs_active, not the key; 3,000 jobs/s at c=64, not 14,000.
-- No parameters.
ANALYZE spool.jobs
