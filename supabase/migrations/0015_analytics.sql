-- Analytics and SQL reports (issue 9, docs/analytics.md): product activity written by triggers inside
-- the transaction of each action, hourly and daily rollups rebuilt by a job, the read-only role
-- that saved SQL reports run as, the reports themselves and the audit of every run.

create schema if not exists analytics;
revoke all on schema analytics from public;

create table analytics.activity (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('signed_up', 'signed_in', 'message_sent', 'rsvp_changed', 'checked_in',
    'media_uploaded', 'order_status_changed', 'page_viewed')),
  -- When it happened, and when the row was written (later for events folded in late).
  occurred_at timestamptz not null default now(),
  recorded_at timestamptz not null default now(),
  user_id uuid,
  -- The room, event, media item or order the event is about.
  subject_id uuid,
  -- Page views: the path with ids replaced, and the visitor's daily salted hash (never an IP or a user).
  path text check (char_length(path) <= 300),
  visitor text check (char_length(visitor) <= 40),
  data jsonb not null default '{}'::jsonb
);
create index activity_occurred_idx on analytics.activity (occurred_at);
create index activity_recorded_idx on analytics.activity using brin (recorded_at);
create index activity_user_idx on analytics.activity (user_id) where user_id is not null;

create table analytics.hourly_metrics (
  hour timestamptz not null,
  metric text not null,
  key text not null default '',
  value double precision not null,
  primary key (hour, metric, key)
);
create table analytics.daily_metrics (
  day date not null,
  metric text not null,
  key text not null default '',
  value double precision not null,
  primary key (day, metric, key)
);
create index daily_metrics_metric_idx on analytics.daily_metrics (metric, day);
-- Distinct active users per day, for WAU/MAU over sliding windows.
create table analytics.daily_users (
  day date not null,
  user_id uuid not null,
  primary key (day, user_id)
);
create index daily_users_user_idx on analytics.daily_users (user_id);

-- Admins read activity and rollups (the dashboard runs as the admin); reports read them as their role.
alter table analytics.activity enable row level security;
alter table analytics.hourly_metrics enable row level security;
alter table analytics.daily_metrics enable row level security;
alter table analytics.daily_users enable row level security;
create policy "admins read activity" on analytics.activity for select to authenticated
  using ((select public.is_admin()));
create policy "admins read hourly metrics" on analytics.hourly_metrics for select to authenticated
  using ((select public.is_admin()));
create policy "admins read daily metrics" on analytics.daily_metrics for select to authenticated
  using ((select public.is_admin()));
create policy "admins read daily users" on analytics.daily_users for select to authenticated
  using ((select public.is_admin()));
grant usage on schema analytics to authenticated, service_role;
grant select on analytics.activity, analytics.hourly_metrics, analytics.daily_metrics, analytics.daily_users
  to authenticated;
grant all on all tables in schema analytics to service_role;

-- Server-only state: the rollup watermark and the daily salts of visitor hashes.
create table plaza.analytics_state (
  name text primary key,
  watermark timestamptz not null,
  updated_at timestamptz not null default now()
);
create table plaza.analytics_salts (
  day date primary key,
  salt text not null
);

-- Tracking triggers ------------------------------------------------------------------------------

create function plaza.track_user_signed_up() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, occurred_at, user_id) values ('signed_up', now(), new.id);
  return null;
end $$;
create trigger track_signed_up after insert on auth.users
  for each row execute function plaza.track_user_signed_up();

create function plaza.track_user_signed_in() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, user_id) values ('signed_in', new.id);
  return null;
end $$;
create trigger track_signed_in after update of last_sign_in_at on auth.users
  for each row when (new.last_sign_in_at is distinct from old.last_sign_in_at and new.last_sign_in_at is not null)
  execute function plaza.track_user_signed_in();

-- An account's activity stays counted but no longer points at the person.
create function plaza.track_user_deleted() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update analytics.activity set user_id = null where user_id = old.id;
  delete from analytics.daily_users where user_id = old.id;
  return null;
end $$;
create trigger track_user_deleted after delete on auth.users
  for each row execute function plaza.track_user_deleted();

create function plaza.track_messages() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, occurred_at, user_id, subject_id)
  select 'message_sent', n.created_at, n.user_id, n.room_id from new_rows n where n.kind <> 'system';
  return null;
end $$;
create trigger track_messages after insert on public.messages
  referencing new table as new_rows for each statement execute function plaza.track_messages();

create function plaza.track_rsvps() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, occurred_at, user_id, subject_id, data)
  select 'rsvp_changed', n.at, n.user_id, n.event_id, jsonb_build_object('from', n.from_state, 'to', n.to_state)
  from new_rows n;
  return null;
end $$;
create trigger track_rsvps after insert on public.event_rsvp_log
  referencing new table as new_rows for each statement execute function plaza.track_rsvps();

create function plaza.track_checkin() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, occurred_at, user_id, subject_id)
  values ('checked_in', new.checked_in_at, new.user_id, new.event_id);
  return null;
end $$;
create trigger track_checkin after update of checked_in_at on public.event_rsvps
  for each row when (old.checked_in_at is null and new.checked_in_at is not null)
  execute function plaza.track_checkin();

create function plaza.track_media() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, occurred_at, user_id, subject_id, data)
  select 'media_uploaded', n.created_at, n.owner_id, n.id, jsonb_build_object('kind', n.kind, 'bytes', n.bytes)
  from new_rows n;
  return null;
end $$;
create trigger track_media after insert on public.media
  referencing new table as new_rows for each statement execute function plaza.track_media();

create function plaza.track_orders() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into analytics.activity (kind, occurred_at, user_id, subject_id, data)
  select 'order_status_changed', n.created_at, n.actor_id, n.order_id, jsonb_build_object('to', n.status)
  from new_rows n where n.kind in ('created', 'assigned', 'status') and n.status is not null;
  return null;
end $$;
create trigger track_orders after insert on public.order_events
  referencing new table as new_rows for each statement execute function plaza.track_orders();

-- Rollups ----------------------------------------------------------------------------------------

-- Rebuilds one hour: delete and insert in the caller's transaction, so a re-run never double counts.
create function plaza.analytics_rollup_hour(p_hour timestamptz) returns void
language plpgsql security definer set search_path = '' as $$
declare
  v_from timestamptz := date_trunc('hour', p_hour);
  v_to timestamptz := date_trunc('hour', p_hour) + interval '1 hour';
begin
  delete from analytics.hourly_metrics where hour = v_from;
  insert into analytics.hourly_metrics (hour, metric, key, value)
  select v_from, m.metric, m.key, m.value from (
    select 'active_users' as metric, '' as key, count(distinct user_id)::float8 as value
      from analytics.activity where occurred_at >= v_from and occurred_at < v_to and user_id is not null
    union all
    select 'visitors', '', count(distinct visitor)::float8
      from analytics.activity where occurred_at >= v_from and occurred_at < v_to and kind = 'page_viewed'
    union all
    select case kind when 'page_viewed' then 'page_views' when 'message_sent' then 'messages'
        when 'signed_up' then 'registrations' when 'signed_in' then 'sign_ins' when 'rsvp_changed' then 'rsvps'
        when 'checked_in' then 'checkins' when 'media_uploaded' then 'uploads' end, '', count(*)::float8
      from analytics.activity where occurred_at >= v_from and occurred_at < v_to and kind <> 'order_status_changed'
      group by kind
    union all
    select 'order_status', data ->> 'to', count(*)::float8
      from analytics.activity where occurred_at >= v_from and occurred_at < v_to and kind = 'order_status_changed'
      group by data ->> 'to'
  ) m where m.value > 0 or m.metric = 'active_users';
end $$;

-- WAU and MAU of one day, from daily_users (needs the days before it rolled up).
create function plaza.analytics_rollup_actives(p_day date) returns void
language plpgsql security definer set search_path = '' as $$
begin
  delete from analytics.daily_metrics where day = p_day and metric in ('wau', 'mau');
  insert into analytics.daily_metrics (day, metric, key, value)
  select p_day, 'wau', '', count(distinct user_id)::float8 from analytics.daily_users
    where day between p_day - 6 and p_day
  union all
  select p_day, 'mau', '', count(distinct user_id)::float8 from analytics.daily_users
    where day between p_day - 29 and p_day;
end $$;

-- Rebuilds one day (UTC) of daily metrics and daily users.
create function plaza.analytics_rollup_day(p_day date) returns void
language plpgsql security definer set search_path = '' as $$
declare
  v_from timestamptz := p_day::timestamp at time zone 'UTC';
  v_to timestamptz := (p_day + 1)::timestamp at time zone 'UTC';
begin
  delete from analytics.daily_metrics where day = p_day and metric not in ('wau', 'mau');
  delete from analytics.daily_users where day = p_day;

  insert into analytics.daily_users (day, user_id)
  select distinct p_day, user_id from analytics.activity
  where occurred_at >= v_from and occurred_at < v_to and user_id is not null;

  -- One pass over the day for the plain counts.
  insert into analytics.daily_metrics (day, metric, key, value)
  select p_day, m.metric, '', m.value from (
    select
      count(*) filter (where kind = 'signed_up') as registrations,
      count(*) filter (where kind = 'signed_in') as sign_ins,
      count(*) filter (where kind = 'message_sent') as messages,
      count(*) filter (where kind = 'rsvp_changed') as rsvps,
      count(*) filter (where kind = 'rsvp_changed' and data ->> 'to' = 'going') as rsvps_going,
      count(*) filter (where kind = 'checked_in') as checkins,
      count(*) filter (where kind = 'media_uploaded') as uploads,
      coalesce(sum((data ->> 'bytes')::bigint) filter (where kind = 'media_uploaded'), 0) as upload_bytes,
      count(*) filter (where kind = 'order_status_changed' and data ->> 'to' = 'requested') as orders_created,
      count(*) filter (where kind = 'page_viewed') as page_views,
      count(distinct visitor) filter (where kind = 'page_viewed') as visitors
    from analytics.activity where occurred_at >= v_from and occurred_at < v_to
  ) c cross join lateral (values
    ('registrations', c.registrations::float8), ('sign_ins', c.sign_ins), ('messages', c.messages),
    ('rsvps', c.rsvps), ('rsvps_going', c.rsvps_going), ('checkins', c.checkins), ('uploads', c.uploads),
    ('upload_bytes', c.upload_bytes), ('orders_created', c.orders_created), ('page_views', c.page_views),
    ('visitors', c.visitors)
  ) as m (metric, value)
  where m.value > 0;

  insert into analytics.daily_metrics (day, metric, key, value)
  select p_day, 'active_users', '', count(*)::float8 from analytics.daily_users where day = p_day;

  -- Keyed counts: rooms, events, media kinds, order statuses, pages.
  insert into analytics.daily_metrics (day, metric, key, value)
  select p_day, k.metric, k.key, count(*)::float8 from (
    select case kind when 'message_sent' then 'room_messages' when 'rsvp_changed' then 'event_rsvps'
        when 'checked_in' then 'event_checkins' end as metric, subject_id::text as key
      from analytics.activity
      where occurred_at >= v_from and occurred_at < v_to
        and kind in ('message_sent', 'rsvp_changed', 'checked_in') and subject_id is not null
    union all
    select 'uploads_kind', data ->> 'kind' from analytics.activity
      where occurred_at >= v_from and occurred_at < v_to and kind = 'media_uploaded'
    union all
    select 'order_status', data ->> 'to' from analytics.activity
      where occurred_at >= v_from and occurred_at < v_to and kind = 'order_status_changed'
    union all
    select 'page_path', path from analytics.activity
      where occurred_at >= v_from and occurred_at < v_to and kind = 'page_viewed' and path is not null
  ) k where k.key is not null group by k.metric, k.key;

  -- Deliveries of the day and how long they took (created -> delivered).
  insert into analytics.daily_metrics (day, metric, key, value)
  select p_day, m.metric, '', m.value from (
    select count(*)::float8 as n,
      coalesce(sum(extract(epoch from a.occurred_at - o.created_at)), 0)::float8 as seconds
    from analytics.activity a join public.orders o on o.id = a.subject_id
    where a.occurred_at >= v_from and a.occurred_at < v_to
      and a.kind = 'order_status_changed' and a.data ->> 'to' = 'delivered'
  ) d cross join lateral (values ('deliveries', d.n), ('delivery_seconds', d.seconds)) as m (metric, value)
  where d.n > 0;

  -- Events starting that day: going guests and who showed up.
  insert into analytics.daily_metrics (day, metric, key, value)
  select p_day, m.metric, e.id::text, m.value
  from public.events e
  cross join lateral (
    select count(*) filter (where r.state = 'going')::float8 + coalesce(sum(r.guests) filter (where r.state = 'going'), 0) as going,
      -- A check-in admits the whole party, as going counts it.
      count(*) filter (where r.checked_in_at is not null)::float8
        + coalesce(sum(r.guests) filter (where r.checked_in_at is not null), 0) as attended
    from public.event_rsvps r where r.event_id = e.id
  ) s
  cross join lateral (values ('event_going', s.going), ('event_attended', s.attended)) as m (metric, value)
  where e.starts_at >= v_from and e.starts_at < v_to and (s.going > 0 or s.attended > 0);

  perform plaza.analytics_rollup_actives(p_day);
end $$;

-- The scheduled run: every hour and day with activity recorded since the last run (late events
-- included), plus the current and previous hour; WAU/MAU carried forward from the earliest day
-- touched. Returns what it rebuilt.
create function plaza.analytics_rollup_pending(p_margin interval default interval '10 minutes')
returns table (hours int, days int, watermark timestamptz)
language plpgsql security definer set search_path = '' as $$
declare
  v_started timestamptz := clock_timestamp();
  v_since timestamptz;
  v_hour timestamptz;
  v_day date;
  v_first date;
  v_hours int := 0;
  v_days int := 0;
begin
  -- One run at a time (a second one waits, then finds little to do).
  perform pg_advisory_xact_lock(hashtext('plaza.analytics_rollup'));
  select s.watermark into v_since from plaza.analytics_state s where s.name = 'rollup' for update;
  if v_since is null then
    select coalesce(min(a.recorded_at), v_started) into v_since from analytics.activity a;
  end if;
  for v_hour in
    select distinct date_trunc('hour', a.occurred_at) from analytics.activity a
      where a.recorded_at >= v_since - p_margin
    union
    select date_trunc('hour', v_started) union select date_trunc('hour', v_started) - interval '1 hour'
    order by 1
  loop
    perform plaza.analytics_rollup_hour(v_hour);
    v_hours := v_hours + 1;
  end loop;
  for v_day in
    select distinct (date_trunc('hour', a.occurred_at) at time zone 'UTC')::date from analytics.activity a
      where a.recorded_at >= v_since - p_margin
    union select (v_started at time zone 'UTC')::date
    union select ((v_started - interval '1 hour') at time zone 'UTC')::date
    order by 1
  loop
    v_first := coalesce(v_first, v_day);
    perform plaza.analytics_rollup_day(v_day);
    v_days := v_days + 1;
  end loop;
  -- A late day changes the 7- and 30-day windows of the days after it.
  for v_day in
    select d::date from generate_series(v_first + 1, (v_started at time zone 'UTC')::date, interval '1 day') d
    where d::date > v_first and d::date >= (v_started at time zone 'UTC')::date - 400
  loop
    perform plaza.analytics_rollup_actives(v_day);
  end loop;
  insert into plaza.analytics_state (name, watermark, updated_at) values ('rollup', v_started, now())
    on conflict (name) do update set watermark = excluded.watermark, updated_at = excluded.updated_at;
  return query select v_hours, v_days, v_started;
end $$;

revoke execute on function plaza.track_user_signed_up(), plaza.track_user_signed_in(), plaza.track_user_deleted(),
  plaza.track_messages(), plaza.track_rsvps(), plaza.track_checkin(), plaza.track_media(), plaza.track_orders(),
  plaza.analytics_rollup_hour(timestamptz), plaza.analytics_rollup_actives(date),
  plaza.analytics_rollup_day(date), plaza.analytics_rollup_pending(interval)
  from public;

-- Approved views: what reports may read besides activity and rollups (no emails, bodies, addresses,
-- tokens or keys).
create view analytics.users as
  select u.id, coalesce(u.raw_app_meta_data ->> 'role', 'member') as role, u.created_at, u.last_sign_in_at,
    (u.banned_until is not null and u.banned_until > now()) as banned
  from auth.users u;
create view analytics.rooms as
  select id, kind, case when kind = 'dm' then 'Direct message' else name end as name, created_at
  from public.rooms;
create view analytics.room_messages as
  select id, room_id, user_id, kind, char_length(body) as length, jsonb_array_length(attachments) as attachments,
    created_at, (deleted_at is not null) as deleted
  from public.messages;
create view analytics.events as
  select id, series_id, title, category, starts_at, ends_at, timezone, capacity, visibility, created_at
  from public.events;
create view analytics.rsvps as
  select event_id, user_id, state, guests, checked_in_at, responded_at, updated_at from public.event_rsvps;
create view analytics.orders as
  select id, customer_id, partner_id, status, status_changed_at, created_at, fixes_dropped from public.orders;
create view analytics.media as
  select id, owner_id, kind, mime, status, bytes, width, height, created_at, (hidden_at is not null) as hidden
  from public.media;

-- The role saved SQL reports run as: reads analytics, nothing else; the server switches to it inside
-- a read-only transaction (docs/analytics.md).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'plaza_reports') then
    create role plaza_reports nologin noinherit;
  end if;
  execute format('grant plaza_reports to %I', current_user);
exception when insufficient_privilege or duplicate_object then
  null;
end $$;
grant usage on schema analytics to plaza_reports;
grant select on all tables in schema analytics to plaza_reports;
create policy "reports read activity" on analytics.activity for select to plaza_reports using (true);
create policy "reports read hourly metrics" on analytics.hourly_metrics for select to plaza_reports using (true);
create policy "reports read daily metrics" on analytics.daily_metrics for select to plaza_reports using (true);
create policy "reports read daily users" on analytics.daily_users for select to plaza_reports using (true);

-- Functions that change settings or run SQL given as text would let a report step outside its role
-- (the session user is the server's): callable by the API roles only. Supabase does not let the
-- project owner change pg_catalog's grants; there the text check in lib/analytics/reports stands alone.
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure from pg_proc p
    where p.pronamespace = 'pg_catalog'::regnamespace
      and (p.proname in ('set_config', 'ts_stat', 'ts_rewrite', 'pg_notify')
        or p.proname like any (array['query\_to\_xml%', 'cursor\_to\_xml%', 'table\_to\_xml%',
          'schema\_to\_xml%', 'database\_to\_xml%', 'pg\_advisory%', 'pg\_try\_advisory%']))
  loop
    execute format('revoke execute on function %s from public', f);
    execute format('grant execute on function %s to anon, authenticated, service_role', f);
  end loop;
exception when insufficient_privilege then
  raise notice 'pg_catalog grants unchanged (not the owner): report SQL is checked by text only';
end $$;

-- Saved reports and their audit (admins only, through RLS).
create table public.sql_reports (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 120),
  description text not null default '' check (char_length(description) <= 2000),
  sql text not null check (char_length(sql) between 1 and 20000),
  params jsonb not null default '[]'::jsonb check (jsonb_typeof(params) = 'array'),
  -- {cron, timezone, recipients, values} or null
  schedule jsonb check (schedule is null or jsonb_typeof(schedule) = 'object'),
  next_run_at timestamptz,
  client_id text check (client_id is null or char_length(client_id) between 1 and 100),
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index sql_reports_name_idx on public.sql_reports (lower(name));
create unique index sql_reports_client_idx on public.sql_reports (created_by, client_id) where client_id is not null;
create index sql_reports_due_idx on public.sql_reports (next_run_at) where next_run_at is not null;

create table public.sql_report_runs (
  id bigint generated always as identity primary key,
  report_id uuid references public.sql_reports (id) on delete set null,
  report_name text,
  -- The SQL of an unsaved preview (saved reports keep theirs).
  sql text,
  user_id uuid references auth.users (id) on delete set null,
  format text not null check (format in ('json', 'csv', 'email')),
  trigger text not null check (trigger in ('api', 'schedule')),
  params jsonb not null default '{}'::jsonb,
  started_at timestamptz not null default now(),
  duration_ms int,
  row_count int,
  truncated boolean not null default false,
  error_code text,
  error_message text
);
create index sql_report_runs_report_idx on public.sql_report_runs (report_id, id desc);

alter table public.sql_reports enable row level security;
alter table public.sql_report_runs enable row level security;
create policy "admins manage reports" on public.sql_reports for all to authenticated
  using ((select public.is_admin())) with check ((select public.is_admin()));
create policy "admins read report runs" on public.sql_report_runs for select to authenticated
  using ((select public.is_admin()));
grant select, insert, update, delete on public.sql_reports to authenticated;
grant select on public.sql_report_runs to authenticated;
grant all on public.sql_reports, public.sql_report_runs to service_role;

-- Live counters on `admin:live` for admins.
do $$
begin
  if exists (select 1 from pg_tables where schemaname = 'realtime' and tablename = 'messages')
    and not exists (select 1 from pg_policies where schemaname = 'realtime' and tablename = 'messages'
      and policyname = 'admins receive live counters') then
    create policy "admins receive live counters" on realtime.messages
      for select to authenticated
      using (realtime.topic() = 'admin:live' and (select public.is_admin()));
  end if;
exception when insufficient_privilege or duplicate_object then
  null;
end $$;

-- Emails may carry attachments (a scheduled report's CSV), kept with the outbox row so the admin
-- can read them in embedded mode; `dedup_key` makes a message once-only across job retries.
alter table plaza.outbox add column attachments jsonb not null default '[]'::jsonb
  check (jsonb_typeof(attachments) = 'array');
alter table plaza.outbox add column dedup_key text check (char_length(dedup_key) <= 200);
create unique index outbox_dedup_idx on plaza.outbox (dedup_key) where dedup_key is not null;
