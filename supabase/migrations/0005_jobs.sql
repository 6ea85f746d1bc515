-- The embedded job queue (DESIGN section 5): jobs, the dead-letter table, and cron schedules.
-- Private to the server (schema plaza); workers run with the service role.

create table plaza.jobs (
  id bigint generated always as identity primary key,
  name text not null,
  payload jsonb not null default '{}'::jsonb,
  run_at timestamptz not null default now(),
  attempts int not null default 0,
  max_attempts int not null default 6 check (max_attempts between 1 and 25),
  -- A dedup id stays taken while the job is queued, running or done (done rows are kept 7 days).
  dedup_id text unique,
  status text not null default 'queued' check (status in ('queued', 'running', 'done')),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

create index jobs_due_idx on plaza.jobs (run_at) where status = 'queued';
create index jobs_expired_locks_idx on plaza.jobs (locked_until) where status = 'running';

create table plaza.dead_jobs (
  id bigint primary key,
  name text not null,
  payload jsonb not null,
  attempts int not null,
  dedup_id text,
  last_error text,
  created_at timestamptz not null,
  failed_at timestamptz not null default now()
);

create table plaza.schedules (
  name text primary key,
  cron text not null,
  timezone text not null default 'UTC',
  next_run_at timestamptz not null,
  last_run_at timestamptz,
  updated_at timestamptz not null default now()
);
