-- Claims read queued jobs in (run_at, id) order: an index in that order makes a claim an index scan
-- that stops after `limit` rows, however many jobs are due.
drop index if exists plaza.jobs_due_idx;
create index jobs_due_order_idx on plaza.jobs (run_at, id) where status = 'queued';
