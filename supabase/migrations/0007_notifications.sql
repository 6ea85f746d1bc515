-- Notifications (issue 4): in-app rows, per-category channel preferences, quiet hours, push
-- subscriptions, phone numbers for SMS, and server-side logs (outbox, deliveries, webhooks).

create table public.notifications (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  category text not null check (category in ('chat', 'events', 'orders', 'system')),
  template text not null,
  title text not null,
  body text not null default '',
  url text,
  data jsonb not null default '{}'::jsonb,
  dedup_key text not null,
  critical boolean not null default false,
  created_at timestamptz not null default now(),
  read_at timestamptz,
  unique (user_id, dedup_key)
);
create index notifications_user_idx on public.notifications (user_id, id desc);
create index notifications_unread_idx on public.notifications (user_id) where read_at is null;

alter table public.notifications enable row level security;
create policy "people read their own notifications" on public.notifications
  for select to authenticated using (user_id = auth.uid());
create policy "people mark their own notifications read" on public.notifications
  for update to authenticated using (user_id = auth.uid()) with check (user_id = auth.uid());
grant select on public.notifications to authenticated;
grant update (read_at) on public.notifications to authenticated;
grant all on public.notifications to service_role;

-- One row per category a person changed; absent rows mean the defaults (lib/notify/preferences.ts).
create table public.notification_preferences (
  user_id uuid not null references auth.users (id) on delete cascade,
  category text not null check (category in ('chat', 'events', 'orders', 'system')),
  push boolean not null,
  email boolean not null,
  sms boolean not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, category)
);
alter table public.notification_preferences enable row level security;
create policy "people manage their own notification preferences" on public.notification_preferences
  for all to authenticated using (user_id = auth.uid()) with check (user_id = auth.uid());
grant select, insert, update, delete on public.notification_preferences to authenticated;
grant all on public.notification_preferences to service_role;

create table public.notification_settings (
  user_id uuid primary key references auth.users (id) on delete cascade,
  timezone text not null default 'UTC' check (char_length(timezone) between 1 and 64),
  -- Quiet hours as local clock times; both null means none. Start after end spans midnight.
  quiet_start time,
  quiet_end time,
  check ((quiet_start is null) = (quiet_end is null)),
  updated_at timestamptz not null default now()
);
alter table public.notification_settings enable row level security;
create policy "people manage their own notification settings" on public.notification_settings
  for all to authenticated using (user_id = auth.uid()) with check (user_id = auth.uid());
grant select, insert, update, delete on public.notification_settings to authenticated;
grant all on public.notification_settings to service_role;

create table public.push_subscriptions (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  endpoint text not null unique check (char_length(endpoint) <= 2048),
  p256dh text not null,
  auth text not null,
  user_agent text not null default '' check (char_length(user_agent) <= 300),
  created_at timestamptz not null default now(),
  last_success_at timestamptz
);
create index push_subscriptions_user_idx on public.push_subscriptions (user_id);
alter table public.push_subscriptions enable row level security;
create policy "people see their own push subscriptions" on public.push_subscriptions
  for select to authenticated using (user_id = auth.uid());
create policy "people remove their own push subscriptions" on public.push_subscriptions
  for delete to authenticated using (user_id = auth.uid());
grant select (id, user_id, user_agent, created_at, last_success_at), delete on public.push_subscriptions
  to authenticated;
grant all on public.push_subscriptions to service_role;

-- A verified phone number per person, and whether they agreed to texts. STOP from the phone sets
-- stopped_at (the carrier-level opt-out), START clears it.
create table public.user_phones (
  user_id uuid primary key references auth.users (id) on delete cascade,
  phone text not null check (phone ~ '^\+[1-9][0-9]{7,14}$'),
  verified_at timestamptz not null default now(),
  sms_opt_in boolean not null default true,
  stopped_at timestamptz
);
create index user_phones_phone_idx on public.user_phones (phone);
alter table public.user_phones enable row level security;
create policy "people see their own phone" on public.user_phones
  for select to authenticated using (user_id = auth.uid());
grant select on public.user_phones to authenticated;
grant all on public.user_phones to service_role;

-- Server-only tables below (schema plaza: no grants to users).

create table plaza.phone_verifications (
  user_id uuid primary key references auth.users (id) on delete cascade,
  phone text not null,
  code_hash text not null,
  expires_at timestamptz not null,
  attempts int not null default 0,
  created_at timestamptz not null default now()
);

-- Every email and text Plaza produced; sent through SMTP/Twilio when configured, else kept here.
create table plaza.outbox (
  id bigint generated always as identity primary key,
  channel text not null check (channel in ('email', 'sms')),
  recipient text not null,
  subject text not null default '',
  text_body text not null,
  html_body text,
  user_id uuid references auth.users (id) on delete set null,
  notification_id bigint references public.notifications (id) on delete set null,
  status text not null default 'stored' check (status in ('stored', 'sent', 'failed')),
  provider_id text,
  error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index outbox_created_idx on plaza.outbox (id desc);
-- A notification's email or text is produced once, however often its job is retried.
create unique index outbox_notification_idx on plaza.outbox (notification_id, channel)
  where notification_id is not null;

-- One row per delivery attempt of a notification on a channel (the admin delivery log).
create table plaza.deliveries (
  id bigint generated always as identity primary key,
  notification_id bigint references public.notifications (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  channel text not null check (channel in ('in_app', 'push', 'email', 'sms')),
  provider text not null,
  provider_id text,
  status text not null check (status in ('sent', 'delivered', 'failed', 'undelivered', 'skipped', 'clicked')),
  cost_micros bigint,
  cost_unit text,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (notification_id, channel)
);
create index deliveries_created_idx on plaza.deliveries (id desc);
create index deliveries_provider_idx on plaza.deliveries (provider_id) where provider_id is not null;

-- Webhook deliveries already handled (Twilio retries; each SID and status is processed once).
create table plaza.webhook_receipts (
  key text primary key,
  received_at timestamptz not null default now()
);

-- VAPID keys generated on first start when none are configured.
create table plaza.vapid_keys (
  id int primary key default 1 check (id = 1),
  public_key text not null,
  private_key text not null,
  created_at timestamptz not null default now()
);

-- Each person's own channel carries their notifications and unread counts.
do $$
begin
  if exists (select 1 from pg_tables where schemaname = 'realtime' and tablename = 'messages') then
    create policy "people read their own user channel" on realtime.messages
      for select to authenticated using (realtime.topic() = 'user:' || auth.uid()::text);
  end if;
exception when insufficient_privilege or duplicate_object then
  null;
end $$;
