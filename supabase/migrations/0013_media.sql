-- Media (docs/media.md): uploads and their variants, reports and moderation, chat attachments and
-- event cover images. Files live in storage (local directory or Supabase Storage) under
-- `<media id>/...`; these tables say who owns what and what may be served.

create table public.media (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  kind text not null check (kind in ('image', 'pdf', 'video')),
  mime text not null check (mime in (
    'image/jpeg', 'image/png', 'image/gif', 'image/webp', 'application/pdf', 'video/mp4', 'video/webm')),
  status text not null default 'processing' check (status in ('processing', 'ready', 'failed')),
  failure text check (char_length(failure) <= 300),
  -- The uploader's file name, sanitized; display only, never a storage path.
  filename text not null default '' check (char_length(filename) <= 200),
  -- The uploaded file's size, and what the item takes in storage now (counted against the quota).
  bytes bigint not null check (bytes > 0),
  stored_bytes bigint not null default 0 check (stored_bytes >= 0),
  width int check (width > 0),
  height int check (height > 0),
  color text check (color ~ '^#[0-9a-f]{6}$'),
  -- The upload as received; images lose it once their variants exist (it may carry GPS metadata).
  original_key text,
  -- {"thumb": {"key", "mime", "width", "height", "bytes", "etag"}, "medium": …, "full": …}
  variants jsonb not null default '{}'::jsonb check (jsonb_typeof(variants) = 'object'),
  client_id text check (char_length(client_id) between 1 and 100),
  hidden_at timestamptz,
  hidden_by uuid references auth.users (id) on delete set null,
  hidden_reason text check (char_length(hidden_reason) <= 500),
  created_at timestamptz not null default now(),
  processed_at timestamptz,
  check ((status = 'failed') = (failure is not null))
);
create index media_owner_idx on public.media (owner_id, created_at desc, id desc);
create unique index media_client_idx on public.media (owner_id, client_id) where client_id is not null;
create index media_processing_idx on public.media (created_at) where status = 'processing';

create table public.media_reports (
  id bigint generated always as identity primary key,
  media_id uuid not null references public.media (id) on delete cascade,
  reporter_id uuid not null references auth.users (id) on delete cascade,
  reason text not null check (char_length(reason) between 1 and 500),
  created_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolved_by uuid references auth.users (id) on delete set null,
  resolution text check (resolution in ('hidden', 'restored', 'deleted', 'dismissed')),
  unique (media_id, reporter_id)
);
create index media_reports_open_idx on public.media_reports (media_id) where resolved_at is null;

-- What admins did, kept after the media is gone.
create table public.media_moderation_log (
  id bigint generated always as identity primary key,
  media_id uuid not null,
  owner_id uuid,
  admin_id uuid references auth.users (id) on delete set null,
  action text not null check (action in ('hide', 'restore', 'delete', 'dismiss')),
  reason text check (char_length(reason) <= 500),
  created_at timestamptz not null default now()
);
create index media_moderation_log_idx on public.media_moderation_log (id desc);

-- Storage prefixes to remove: uploads in flight (not_before in the future: removed only if the
-- upload never became a media row, say after a crash) and deleted media (removed at once). The
-- `media-sweep` job empties it; the request that deleted something empties its own rows first.
create table plaza.storage_garbage (
  prefix text primary key check (prefix ~ '^[0-9a-f-]{36}/$'),
  not_before timestamptz not null default now()
);
create index storage_garbage_due_idx on plaza.storage_garbage (not_before);

create function public.media_gone() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into plaza.storage_garbage (prefix, not_before) values (old.id::text || '/', now())
  on conflict (prefix) do update set not_before = now();
  return null;
end $$;
create trigger media_gone after delete on public.media for each row execute function public.media_gone();

-- The owner hears about processing on `user:<id>` (the policy from 0007 lets only them join it).
create function public.media_json(m public.media) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'id', m.id, 'owner_id', m.owner_id, 'kind', m.kind, 'mime', m.mime, 'status', m.status,
    'failure', m.failure, 'filename', m.filename, 'bytes', m.bytes, 'stored_bytes', m.stored_bytes,
    'width', m.width, 'height', m.height, 'color', m.color,
    'variants', (select coalesce(jsonb_agg(k order by k), '[]'::jsonb) from jsonb_object_keys(m.variants) k),
    'hidden', m.hidden_at is not null, 'hidden_reason', m.hidden_reason,
    'created_at', public.iso_utc(m.created_at), 'processed_at', public.iso_utc(m.processed_at))
$$;

create function public.media_status_changed() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.send(public.media_json(new), 'media', 'user:' || new.owner_id::text, true);
  return null;
end $$;
create trigger media_status_changed after update of status on public.media
  for each row when (old.status is distinct from new.status)
  execute function public.media_status_changed();

-- Chat attachments: a message may carry up to 10 of its author's ready, visible uploads. Whatever
-- the client sends ({media_id}), the row keeps a snapshot from the media table.
alter table public.messages drop constraint messages_check;
alter table public.messages add constraint messages_content_check
  check (kind = 'system' or deleted_at is not null or char_length(btrim(body)) >= 1
    or jsonb_array_length(attachments) > 0);
-- Not partial: the media policy's `attachments @> …` must be able to use it.
create index messages_attachments_idx on public.messages using gin (attachments jsonb_path_ops);

create function public.chat_message_attachments() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_out jsonb := '[]'::jsonb;
  v_item jsonb;
  v_id uuid;
  v_seen uuid[] := '{}';
  m public.media;
begin
  if jsonb_array_length(new.attachments) = 0 then return new; end if;
  if jsonb_array_length(new.attachments) > 10 then
    raise exception 'at most 10 attachments' using errcode = '23514', constraint = 'messages_attachments';
  end if;
  for v_item in select * from jsonb_array_elements(new.attachments) loop
    if jsonb_typeof(v_item) <> 'object' or jsonb_typeof(v_item -> 'media_id') <> 'string'
      or (v_item ->> 'media_id') !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
      raise exception 'an attachment is {media_id}' using errcode = '23514', constraint = 'messages_attachments';
    end if;
    v_id := (v_item ->> 'media_id')::uuid;
    if v_id = any (v_seen) then
      raise exception 'attachment % twice', v_id using errcode = '23514', constraint = 'messages_attachments';
    end if;
    v_seen := v_seen || v_id;
    select * into m from public.media
    where id = v_id and owner_id = new.user_id and status = 'ready' and hidden_at is null;
    if not found then
      raise exception 'attachment % is not a ready upload of the author', v_id
        using errcode = '23514', constraint = 'messages_attachments';
    end if;
    v_out := v_out || jsonb_build_array(jsonb_build_object(
      'media_id', m.id, 'kind', m.kind, 'mime', m.mime, 'filename', m.filename, 'bytes', m.bytes,
      'width', m.width, 'height', m.height, 'color', m.color));
  end loop;
  new.attachments := v_out;
  return new;
end $$;
create trigger messages_attachments before insert on public.messages
  for each row execute function public.chat_message_attachments();

-- Event cover images: an image its organizer uploaded (or the one already there).
alter table public.events add column cover_media_id uuid references public.media (id) on delete set null;
create index events_cover_idx on public.events (cover_media_id) where cover_media_id is not null;

create function public.event_cover_check() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.cover_media_id is null then return new; end if;
  if tg_op = 'UPDATE' and new.cover_media_id is not distinct from old.cover_media_id then return new; end if;
  if not exists (
    select 1 from public.media m
    where m.id = new.cover_media_id and m.kind = 'image' and m.status <> 'failed' and m.hidden_at is null
      and (m.owner_id = auth.uid() or auth.uid() is null
        -- Co-organizers keep a cover already on an event they organize (series edits and splits).
        or exists (select 1 from public.events e
          where e.cover_media_id = new.cover_media_id and public.event_is_organizer(e.id)))
  ) then
    raise exception 'the cover must be an image you uploaded' using errcode = '23514',
      constraint = 'events_cover_media';
  end if;
  return new;
end $$;
create trigger events_cover_check before insert or update of cover_media_id on public.events
  for each row execute function public.event_cover_check();

grant select (cover_media_id) on public.events to anon, authenticated;
grant insert (cover_media_id), update (cover_media_id) on public.events to authenticated;

-- Who may see an item's metadata: its owner, admins, and while it is visible the people who can read
-- a message it is attached to or see an event it covers (through those tables' own policies).
-- Serving the bytes to anyone but the owner and admins still takes a signed URL (or a public event).
create function public.media_is_public(p_media uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.media m join public.events e on e.cover_media_id = m.id
    where m.id = p_media and m.hidden_at is null and m.status = 'ready'
      and e.visibility = 'public' and e.status <> 'draft')
$$;

-- What event pages show of a cover (to anyone who sees the event): only for media that covers one.
-- Callers pass an event they already read (through its RLS) and its cover.
create function public.event_cover_json(p_event uuid, p_media uuid) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object('id', m.id, 'color', m.color, 'width', m.width, 'height', m.height)
  from public.media m
  where m.id = p_media and m.status = 'ready' and m.hidden_at is null
    and exists (select 1 from public.events e where e.id = p_event and e.cover_media_id = m.id)
$$;

alter table public.media enable row level security;
create policy "owners, admins and the people it is shared with see media" on public.media
  for select to authenticated using (
    owner_id = (select auth.uid()) or (select public.is_admin())
    or (hidden_at is null and status = 'ready' and (
      exists (select 1 from public.messages msg
        where msg.attachments @> jsonb_build_array(jsonb_build_object('media_id', media.id)))
      or exists (select 1 from public.events e where e.cover_media_id = media.id))));
create policy "owners and admins delete media" on public.media
  for delete to authenticated using (owner_id = (select auth.uid()) or (select public.is_admin()));

alter table public.media_reports enable row level security;
create policy "people see their reports and admins all" on public.media_reports
  for select to authenticated using (reporter_id = (select auth.uid()) or (select public.is_admin()));
create policy "people report media they can see, once" on public.media_reports
  for insert to authenticated
  with check (reporter_id = (select auth.uid()) and resolved_at is null
    and exists (select 1 from public.media m where m.id = media_id and m.owner_id <> (select auth.uid())));

alter table public.media_moderation_log enable row level security;
create policy "admins read the moderation log" on public.media_moderation_log
  for select to authenticated using ((select public.is_admin()));

-- Hide, restore, delete (the row; storage follows through plaza.storage_garbage) or dismiss reports.
create function public.media_moderate(p_media uuid, p_action text, p_reason text) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  m public.media;
  v_resolution text;
begin
  if not public.is_admin() then
    raise exception 'admins only' using errcode = '42501';
  end if;
  if p_action not in ('hide', 'restore', 'delete', 'dismiss') then
    raise exception 'unknown action %', p_action using errcode = '22023';
  end if;
  select * into m from public.media where id = p_media for update;
  if not found then return null; end if;
  v_resolution := case p_action when 'hide' then 'hidden' when 'restore' then 'restored'
    when 'delete' then 'deleted' else 'dismissed' end;
  insert into public.media_moderation_log (media_id, owner_id, admin_id, action, reason)
  values (m.id, m.owner_id, auth.uid(), p_action, nullif(left(p_reason, 500), ''));
  update public.media_reports set resolved_at = now(), resolved_by = auth.uid(), resolution = v_resolution
  where media_id = m.id and resolved_at is null;
  if p_action = 'hide' then
    update public.media set hidden_at = coalesce(hidden_at, now()), hidden_by = auth.uid(),
      hidden_reason = nullif(left(p_reason, 500), '') where id = m.id returning * into m;
  elsif p_action = 'restore' then
    update public.media set hidden_at = null, hidden_by = null, hidden_reason = null
    where id = m.id returning * into m;
  elsif p_action = 'delete' then
    delete from public.media where id = m.id;
    return jsonb_build_object('id', m.id, 'deleted', true);
  end if;
  return public.media_json(m);
end $$;

revoke execute on function public.media_gone(), public.media_status_changed(), public.chat_message_attachments(),
  public.event_cover_check(), public.media_is_public(uuid), public.media_moderate(uuid, text, text)
  from public, anon;
grant execute on function public.media_json(public.media) to authenticated, service_role;
grant execute on function public.media_is_public(uuid) to service_role;
grant execute on function public.event_cover_json(uuid, uuid) to anon, authenticated, service_role;
grant execute on function public.media_moderate(uuid, text, text) to authenticated, service_role;

revoke all on public.media, public.media_reports, public.media_moderation_log from anon, authenticated;
grant select, delete on public.media to authenticated;
grant select on public.media_reports to authenticated;
grant insert (media_id, reporter_id, reason) on public.media_reports to authenticated;
grant select on public.media_moderation_log to authenticated;
grant all on public.media, public.media_reports, public.media_moderation_log to service_role;
