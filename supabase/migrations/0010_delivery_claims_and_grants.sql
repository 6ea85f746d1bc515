-- Deliveries are claimed ('sending') before anything is sent, so a channel is never sent twice.
alter table plaza.deliveries drop constraint deliveries_status_check;
alter table plaza.deliveries add constraint deliveries_status_check
  check (status in ('sending', 'sent', 'delivered', 'failed', 'undelivered', 'skipped', 'clicked'));

-- Supabase grants every privilege on new public tables to anon and authenticated by default; the
-- column grants of 0007 only restrict anything once those defaults are taken back.
revoke all on public.notifications, public.notification_preferences, public.notification_settings,
  public.push_subscriptions, public.user_phones from anon, authenticated;
grant select on public.notifications to authenticated;
grant update (read_at) on public.notifications to authenticated;
grant select, insert, update, delete on public.notification_preferences to authenticated;
grant select, insert, update, delete on public.notification_settings to authenticated;
grant select (id, user_id, user_agent, created_at, last_success_at), delete on public.push_subscriptions
  to authenticated;
grant select on public.user_phones to authenticated;

-- A time zone written around the API must still be one Postgres knows.
alter table public.notification_settings add constraint notification_settings_timezone_known
  check (timestamptz '2000-01-01 00:00:00+00' at time zone timezone is not null) not valid;
