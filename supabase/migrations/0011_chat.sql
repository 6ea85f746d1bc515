-- Chat (issue 5): rooms, members, messages, reactions, reports, per-person chat settings; RLS on
-- every table; triggers that broadcast committed changes to `room:<id>` through realtime.send.

create table public.rooms (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('public', 'private', 'dm', 'order')),
  name text not null check (char_length(name) between 1 and 80),
  topic text not null default '' check (char_length(topic) <= 250),
  created_by uuid references auth.users (id) on delete set null,
  -- 'dm': the pair's ids, smaller first; one room per pair.
  dm_key text unique,
  -- 'order': the order this thread belongs to (the orders module adds the foreign key).
  order_id uuid unique,
  member_count int not null default 0,
  last_message_id bigint,
  last_message_at timestamptz,
  created_at timestamptz not null default now(),
  check ((kind = 'dm') = (dm_key is not null)),
  check ((kind = 'order') = (order_id is not null))
);
create index rooms_public_activity_idx on public.rooms (last_message_at desc nulls last) where kind = 'public';

create table public.room_members (
  room_id uuid not null references public.rooms (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'moderator', 'member')),
  last_read_id bigint not null default 0,
  muted_until timestamptz,
  joined_at timestamptz not null default now(),
  primary key (room_id, user_id)
);
create index room_members_user_idx on public.room_members (user_id, room_id);

-- Message ids are drawn by the insert trigger after it locks the room row, so within a room the
-- ids grow in commit order: a reader that has seen id N has seen every earlier message.
create sequence public.messages_id_seq;
create table public.messages (
  id bigint primary key,
  room_id uuid not null references public.rooms (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  client_id text check (char_length(client_id) between 1 and 100),
  kind text not null default 'text' check (kind in ('text', 'location', 'system')),
  body text not null default '' check (char_length(body) <= 4000),
  data jsonb,
  reply_to bigint references public.messages (id) on delete set null,
  attachments jsonb not null default '[]'::jsonb check (jsonb_typeof(attachments) = 'array'),
  mentions uuid[] not null default '{}',
  created_at timestamptz not null default now(),
  edited_at timestamptz,
  deleted_at timestamptz,
  deleted_by uuid,
  search tsvector generated always as (to_tsvector('english', body)) stored,
  check (kind = 'system' or deleted_at is not null or char_length(btrim(body)) >= 1)
);
alter sequence public.messages_id_seq owned by public.messages.id;
create index messages_room_idx on public.messages (room_id, id);
-- Unread counts (people's messages after a read position): an index-only scan that stops at the cap.
create index messages_unread_idx on public.messages (room_id, id) include (user_id)
  where kind <> 'system' and deleted_at is null;
create unique index messages_client_idx on public.messages (user_id, client_id) where client_id is not null;
create index messages_search_idx on public.messages using gin (search);
create index messages_reply_idx on public.messages (reply_to) where reply_to is not null;

create table public.message_reactions (
  message_id bigint not null references public.messages (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  emoji text not null check (char_length(emoji) between 1 and 16),
  created_at timestamptz not null default now(),
  primary key (message_id, user_id, emoji)
);

create table public.message_reports (
  id bigint generated always as identity primary key,
  message_id bigint not null references public.messages (id) on delete cascade,
  reporter_id uuid not null references auth.users (id) on delete cascade,
  reason text not null check (char_length(btrim(reason)) between 1 and 500),
  status text not null default 'open' check (status in ('open', 'dismissed', 'actioned')),
  resolution text,
  resolved_by uuid references auth.users (id) on delete set null,
  resolved_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index message_reports_open_idx on public.message_reports (message_id, reporter_id)
  where status = 'open';
create index message_reports_status_idx on public.message_reports (status, id desc);

create table public.chat_settings (
  user_id uuid primary key references auth.users (id) on delete cascade,
  read_receipts boolean not null default true,
  updated_at timestamptz not null default now()
);

-- Helpers for policies. Security definer so that policies on room_members can ask about
-- room_members without recursing; each answers only about the caller (auth.uid()).

create function public.chat_my_room_ids() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select room_id from public.room_members where user_id = auth.uid()
$$;

create function public.chat_role(p_room uuid) returns text
language sql stable security definer set search_path = '' as $$
  select role from public.room_members where room_id = p_room and user_id = auth.uid()
$$;

create function public.chat_can_post(p_room uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.room_members
    where room_id = p_room and user_id = auth.uid() and (muted_until is null or muted_until <= now())
  )
$$;

create function public.chat_room_kind(p_room uuid) returns text
language sql stable security definer set search_path = '' as $$
  select kind from public.rooms where id = p_room
$$;

-- Whether a message was ever reported (admins may read reported messages).
create function public.chat_is_reported(p_message bigint) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (select 1 from public.message_reports where message_id = p_message)
$$;

-- The room of a `room:<uuid>` topic, or null for any other topic.
create function public.chat_topic_room(p_topic text) returns uuid
language sql immutable set search_path = '' as $$
  select case when p_topic ~ '^room:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(p_topic, 6)::uuid end
$$;

revoke execute on function public.chat_my_room_ids(), public.chat_role(uuid), public.chat_can_post(uuid),
  public.chat_room_kind(uuid), public.chat_is_reported(bigint) from public, anon;
grant execute on function public.chat_my_room_ids(), public.chat_role(uuid), public.chat_can_post(uuid),
  public.chat_room_kind(uuid), public.chat_is_reported(bigint) to authenticated, service_role;

-- Policies.

alter table public.rooms enable row level security;
create policy "rooms are visible to their members and public ones to everyone signed in" on public.rooms
  for select to authenticated
  using (kind = 'public' or created_by = (select auth.uid()) or id in (select public.chat_my_room_ids())
    or (select public.is_admin()));
create policy "people create public and private rooms" on public.rooms
  for insert to authenticated
  with check (created_by = (select auth.uid()) and kind in ('public', 'private') and dm_key is null
    and order_id is null);
create policy "owners and moderators rename rooms" on public.rooms
  for update to authenticated
  using (public.chat_role(id) in ('owner', 'moderator') or (select public.is_admin()))
  with check (public.chat_role(id) in ('owner', 'moderator') or (select public.is_admin()));

alter table public.room_members enable row level security;
create policy "members see the members of their rooms" on public.room_members
  for select to authenticated
  using (room_id in (select public.chat_my_room_ids()) or (select public.is_admin()));
create policy "people join public rooms; owners and moderators add people" on public.room_members
  for insert to authenticated
  with check (
    role <> 'owner' and public.chat_room_kind(room_id) in ('public', 'private')
    and (
      (user_id = (select auth.uid()) and role = 'member' and public.chat_room_kind(room_id) = 'public')
      or public.chat_role(room_id) = 'owner'
      or (public.chat_role(room_id) = 'moderator' and role = 'member')
      or (select public.is_admin())
    )
  );
create policy "people leave rooms; owners and moderators remove people" on public.room_members
  for delete to authenticated
  using (
    public.chat_room_kind(room_id) in ('public', 'private')
    and (
      user_id = (select auth.uid())
      or (role <> 'owner' and public.chat_role(room_id) = 'owner')
      or (role = 'member' and public.chat_role(room_id) = 'moderator')
      or (select public.is_admin())
    )
  );
create policy "people move their own read position" on public.room_members
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

alter table public.messages enable row level security;
create policy "members read their rooms' messages" on public.messages
  for select to authenticated using (room_id in (select public.chat_my_room_ids()));
create policy "admins read reported messages" on public.messages
  for select to authenticated
  using ((select public.is_admin()) and public.chat_is_reported(id));
create policy "members who are not muted post" on public.messages
  for insert to authenticated
  with check (user_id = (select auth.uid()) and kind in ('text', 'location') and deleted_at is null
    and public.chat_can_post(room_id));
create policy "authors edit their messages" on public.messages
  for update to authenticated
  using (user_id = (select auth.uid()) and kind <> 'system' and deleted_at is null
    and public.chat_can_post(room_id))
  with check (user_id = (select auth.uid()) and deleted_at is null);

alter table public.message_reactions enable row level security;
create policy "members see reactions" on public.message_reactions
  for select to authenticated using (exists (select 1 from public.messages m where m.id = message_id));
create policy "members react" on public.message_reactions
  for insert to authenticated
  with check (user_id = (select auth.uid()) and exists (
    select 1 from public.messages m
    where m.id = message_id and m.deleted_at is null and public.chat_can_post(m.room_id)
  ));
create policy "people take back their reactions" on public.message_reactions
  for delete to authenticated using (user_id = (select auth.uid()));

alter table public.message_reports enable row level security;
create policy "people see their reports and admins all" on public.message_reports
  for select to authenticated using (reporter_id = (select auth.uid()) or (select public.is_admin()));
create policy "members report messages they can read" on public.message_reports
  for insert to authenticated
  with check (reporter_id = (select auth.uid()) and status = 'open' and resolved_by is null
    and exists (select 1 from public.messages m where m.id = message_id));
create policy "admins resolve reports" on public.message_reports
  for update to authenticated using ((select public.is_admin())) with check ((select public.is_admin()));

alter table public.chat_settings enable row level security;
create policy "people manage their chat settings" on public.chat_settings
  for all to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

-- Grants (Supabase grants everything on new public tables by default: take that back first).
revoke all on public.rooms, public.room_members, public.messages, public.message_reactions,
  public.message_reports, public.chat_settings from anon, authenticated;
grant select, insert on public.rooms to authenticated;
grant update (name, topic) on public.rooms to authenticated;
grant select, insert, delete on public.room_members to authenticated;
grant update (last_read_id) on public.room_members to authenticated;
grant select on public.messages to authenticated;
grant insert (room_id, user_id, client_id, kind, body, data, reply_to, attachments) on public.messages
  to authenticated;
grant update (body) on public.messages to authenticated;
grant usage on sequence public.messages_id_seq to authenticated;
grant select, insert, delete on public.message_reactions to authenticated;
grant select, insert on public.message_reports to authenticated;
grant update (status, resolution, resolved_by, resolved_at) on public.message_reports to authenticated;
grant usage on sequence public.message_reports_id_seq to authenticated;
grant select, insert, update on public.chat_settings to authenticated;
grant all on public.rooms, public.room_members, public.messages, public.message_reactions,
  public.message_reports, public.chat_settings to service_role;
grant usage on sequence public.messages_id_seq, public.message_reports_id_seq to service_role;

-- A timestamp as the API writes it: ISO 8601 in UTC with milliseconds.
create function public.iso_utc(t timestamptz) returns text language sql stable set search_path = '' as $$
  select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Whether a person shares their read position (chat_settings rows are private to their owner).
create function public.chat_shares_receipts(p_user uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce((select read_receipts from public.chat_settings where user_id = p_user), true)
$$;
revoke execute on function public.chat_shares_receipts(uuid) from public, anon;
grant execute on function public.chat_shares_receipts(uuid) to authenticated, service_role;

-- The JSON of a message, as the API and the realtime events show it. Runs as the caller, so a
-- reply preview or reactions of a message the caller cannot read stay hidden.
create function public.chat_message_json(m public.messages) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'id', m.id,
    'room_id', m.room_id,
    'author', case when m.kind = 'system' or m.user_id is null then null
      else jsonb_build_object('id', m.user_id,
        'name', coalesce((select p.name from public.profiles p where p.id = m.user_id), 'Deleted account')) end,
    'kind', m.kind,
    'body', m.body,
    'data', m.data,
    'client_id', m.client_id,
    'mentions', to_jsonb(m.mentions),
    'reply_to', (
      select jsonb_build_object(
        'id', r.id,
        'author_name', coalesce((select p.name from public.profiles p where p.id = r.user_id), ''),
        'body', case when r.deleted_at is null then left(r.body, 140) else '' end,
        'deleted', r.deleted_at is not null)
      from public.messages r where r.id = m.reply_to),
    'attachments', m.attachments,
    'reactions', coalesce((
      select jsonb_agg(jsonb_build_object('emoji', g.emoji, 'count', g.n, 'user_ids', g.users)
        order by g.first_at, g.emoji)
      from (
        select x.emoji, count(*) as n, jsonb_agg(x.user_id order by x.created_at) as users,
          min(x.created_at) as first_at
        from public.message_reactions x where x.message_id = m.id group by x.emoji
      ) g), '[]'::jsonb),
    'created_at', public.iso_utc(m.created_at),
    'edited_at', public.iso_utc(m.edited_at),
    'deleted_at', public.iso_utc(m.deleted_at)
  )
$$;

-- Triggers.

create function public.chat_message_before_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_names int;
begin
  -- Lock the room first, then draw the id: ids grow in commit order within a room.
  perform 1 from public.rooms where id = new.room_id for update;
  if not found then
    raise exception 'no such room' using errcode = '23503';
  end if;
  new.id := nextval('public.messages_id_seq');
  new.created_at := now();
  new.edited_at := null;
  new.deleted_at := null;
  new.deleted_by := null;
  if new.reply_to is not null
    and not exists (select 1 from public.messages r where r.id = new.reply_to and r.room_id = new.room_id) then
    raise exception 'reply_to is not a message of this room' using errcode = '23514',
      constraint = 'messages_reply_same_room';
  end if;
  new.mentions := '{}';
  if new.kind <> 'system' and strpos(new.body, '@') > 0 then
    select coalesce(array_agg(distinct rm.user_id), '{}') into new.mentions
    from public.room_members rm join public.profiles p on p.id = rm.user_id
    where rm.room_id = new.room_id and rm.user_id is distinct from new.user_id
      and new.body ~* ('(^|[^[:alnum:]_])@'
        || regexp_replace(p.name, '([.*+?^${}()|\[\]\\])', '\\\1', 'g') || '($|[^[:alnum:]_])');
  end if;
  return new;
end $$;
create trigger messages_before_insert before insert on public.messages
  for each row execute function public.chat_message_before_insert();

create function public.chat_message_after_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update public.rooms set last_message_id = new.id, last_message_at = new.created_at where id = new.room_id;
  perform realtime.send(public.chat_message_json(new), 'message', 'room:' || new.room_id, true);
  return null;
end $$;
create trigger messages_after_insert after insert on public.messages
  for each row execute function public.chat_message_after_insert();

create function public.chat_message_before_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.body is distinct from old.body and new.deleted_at is null then
    new.edited_at := now();
  end if;
  return new;
end $$;
create trigger messages_before_update before update on public.messages
  for each row execute function public.chat_message_before_update();

create function public.chat_message_after_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.body is distinct from old.body or new.deleted_at is distinct from old.deleted_at
    or new.data is distinct from old.data then
    perform realtime.send(public.chat_message_json(new), 'message_updated', 'room:' || new.room_id, true);
  end if;
  return null;
end $$;
create trigger messages_after_update after update on public.messages
  for each row execute function public.chat_message_after_update();

create function public.chat_reaction_changed() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  m public.messages;
begin
  select * into m from public.messages where id = coalesce(new.message_id, old.message_id);
  -- A deletion clears the reactions and then broadcasts the tombstone once (chat_delete_message).
  if found and coalesce(current_setting('plaza.chat_deleting', true), '') <> m.id::text then
    perform realtime.send(public.chat_message_json(m), 'message_updated', 'room:' || m.room_id, true);
  end if;
  return null;
end $$;
create trigger message_reactions_changed after insert or delete on public.message_reactions
  for each row execute function public.chat_reaction_changed();

-- A system message in a room (joins, leaves, order status); returns its id.
create function public.chat_system_message(p_room uuid, p_body text, p_data jsonb) returns bigint
language plpgsql security definer set search_path = '' as $$
declare
  v_id bigint;
begin
  insert into public.messages (room_id, user_id, kind, body, data)
  values (p_room, null, 'system', p_body, p_data) returning id into v_id;
  return v_id;
end $$;
revoke execute on function public.chat_system_message(uuid, text, jsonb) from public, anon, authenticated;
grant execute on function public.chat_system_message(uuid, text, jsonb) to service_role;

create function public.chat_member_changed() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_room public.rooms;
  v_user uuid := coalesce(new.user_id, old.user_id);
  v_name text;
  v_event text;
begin
  update public.rooms
  set member_count = member_count + case when tg_op = 'INSERT' then 1 else -1 end
  where id = coalesce(new.room_id, old.room_id)
  returning * into v_room;
  if not found then
    return null; -- the room itself is being deleted
  end if;
  if tg_op = 'DELETE' then
    -- First of this change's events: Plaza's realtime server authorizes the room's subscribers again
    -- (ending the leaver's channel) before it delivers what follows.
    perform pg_notify('plaza_realtime_recheck', 'room:' || v_room.id);
  end if;
  perform realtime.send(jsonb_build_object('room_id', v_room.id, 'member_count', v_room.member_count),
    'members', 'room:' || v_room.id, true);
  perform realtime.send(jsonb_build_object('room_id', v_room.id,
      'change', case when tg_op = 'INSERT' then 'joined' else 'left' end),
    'chat_rooms', 'user:' || v_user, true);
  if v_room.kind in ('public', 'private') then
    v_name := coalesce((select name from public.profiles where id = v_user), 'Someone');
    v_event := case
      when tg_op = 'INSERT' and new.role = 'owner' then 'created'
      when tg_op = 'INSERT' then 'joined'
      when auth.uid() is not null and auth.uid() <> old.user_id then 'removed'
      else 'left' end;
    perform public.chat_system_message(v_room.id,
      v_name || case v_event when 'created' then ' created the room' when 'joined' then ' joined'
        when 'removed' then ' was removed' else ' left' end,
      jsonb_build_object('event', v_event, 'user_id', v_user, 'name', v_name));
  end if;
  return null;
end $$;
create trigger room_members_changed after insert or delete on public.room_members
  for each row execute function public.chat_member_changed();

create function public.chat_read_moved() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.last_read_id > old.last_read_id and public.chat_shares_receipts(new.user_id) then
    perform realtime.send(jsonb_build_object('user_id', new.user_id, 'last_read_id', new.last_read_id),
      'read', 'room:' || new.room_id, true);
  end if;
  return null;
end $$;
create trigger room_members_read_moved after update of last_read_id on public.room_members
  for each row execute function public.chat_read_moved();

-- A new member has read everything before they joined, and starts unmuted.
create function public.chat_member_before_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  new.last_read_id := coalesce((select last_message_id from public.rooms where id = new.room_id), 0);
  new.muted_until := null;
  new.joined_at := now();
  return new;
end $$;
create trigger room_members_before_insert before insert on public.room_members
  for each row execute function public.chat_member_before_insert();

-- The creator of a public or private room becomes its owner.
create function public.chat_room_created() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if new.kind in ('public', 'private') and new.created_by is not null then
    insert into public.room_members (room_id, user_id, role) values (new.id, new.created_by, 'owner');
  end if;
  return null;
end $$;
create trigger rooms_created after insert on public.rooms
  for each row execute function public.chat_room_created();

-- The one DM room of the caller and p_other (created the first time); `created` says which.
create function public.chat_open_dm(p_other uuid, out room_id uuid, out created boolean)
language plpgsql security definer set search_path = '' as $$
declare
  v_me uuid := auth.uid();
  v_key text;
begin
  if v_me is null then
    raise exception 'sign in first' using errcode = '42501';
  end if;
  if p_other = v_me then
    raise exception 'a DM needs another person' using errcode = '22023';
  end if;
  if not exists (select 1 from auth.users where id = p_other) then
    raise exception 'no such person' using errcode = 'P0002';
  end if;
  v_key := least(v_me::text, p_other::text) || ':' || greatest(v_me::text, p_other::text);
  insert into public.rooms (kind, name, created_by, dm_key) values ('dm', 'Direct message', v_me, v_key)
  on conflict (dm_key) do nothing returning id into room_id;
  created := room_id is not null;
  if created then
    insert into public.room_members (room_id, user_id) values (room_id, v_me), (room_id, p_other);
  else
    select id into room_id from public.rooms where dm_key = v_key;
  end if;
end $$;
revoke execute on function public.chat_open_dm(uuid) from public, anon;
grant execute on function public.chat_open_dm(uuid) to authenticated, service_role;

-- Deletes a message (author, room owner or moderator, admin): a tombstone stays, reactions go.
create function public.chat_delete_message(p_id bigint) returns public.messages
language plpgsql security definer set search_path = '' as $$
declare
  m public.messages;
begin
  select * into m from public.messages where id = p_id for update;
  if not found or not (m.room_id in (select public.chat_my_room_ids()) or public.is_admin()) then
    raise exception 'no such message' using errcode = 'P0002';
  end if;
  if m.kind = 'system' and not public.is_admin() then
    raise exception 'system messages stay' using errcode = '42501';
  end if;
  if not (m.user_id = auth.uid() or public.chat_role(m.room_id) in ('owner', 'moderator') or public.is_admin()) then
    raise exception 'not yours to delete' using errcode = '42501';
  end if;
  if m.deleted_at is not null then
    return m;
  end if;
  perform set_config('plaza.chat_deleting', p_id::text, true);
  delete from public.message_reactions where message_id = p_id;
  perform set_config('plaza.chat_deleting', '', true);
  update public.messages
  set deleted_at = now(), deleted_by = auth.uid(), body = '', data = null, attachments = '[]'::jsonb,
    mentions = '{}'
  where id = p_id returning * into m;
  return m;
end $$;
revoke execute on function public.chat_delete_message(bigint) from public, anon;
grant execute on function public.chat_delete_message(bigint) to authenticated, service_role;

-- Mutes (or, with null, unmutes) a member: room owners and moderators, and admins; never an owner
-- unless by an admin.
create function public.chat_mute(p_room uuid, p_user uuid, p_until timestamptz) returns public.room_members
language plpgsql security definer set search_path = '' as $$
declare
  v_member public.room_members;
begin
  select * into v_member from public.room_members where room_id = p_room and user_id = p_user for update;
  if not found then
    raise exception 'not a member' using errcode = 'P0002';
  end if;
  if not (public.is_admin() or (public.chat_role(p_room) in ('owner', 'moderator')
      and v_member.role = 'member' and p_user <> auth.uid())) then
    raise exception 'only moderators mute members' using errcode = '42501';
  end if;
  update public.room_members set muted_until = p_until where room_id = p_room and user_id = p_user
  returning * into v_member;
  -- Plaza's realtime server checks the room's subscribers again: the muted one may no longer send.
  perform pg_notify('plaza_realtime_recheck', 'room:' || p_room);
  return v_member;
end $$;
revoke execute on function public.chat_mute(uuid, uuid, timestamptz) from public, anon;
grant execute on function public.chat_mute(uuid, uuid, timestamptz) to authenticated, service_role;

-- Changes a member's role: the room owner (to member or moderator) and admins.
create function public.chat_set_role(p_room uuid, p_user uuid, p_role text) returns public.room_members
language plpgsql security definer set search_path = '' as $$
declare
  v_member public.room_members;
begin
  if p_role not in ('member', 'moderator') then
    raise exception 'role must be member or moderator' using errcode = '22023';
  end if;
  select * into v_member from public.room_members where room_id = p_room and user_id = p_user for update;
  if not found then
    raise exception 'not a member' using errcode = 'P0002';
  end if;
  if v_member.role = 'owner' or not (public.is_admin() or public.chat_role(p_room) = 'owner') then
    raise exception 'only the owner changes roles' using errcode = '42501';
  end if;
  update public.room_members set role = p_role where room_id = p_room and user_id = p_user
  returning * into v_member;
  return v_member;
end $$;
revoke execute on function public.chat_set_role(uuid, uuid, text) from public, anon;
grant execute on function public.chat_set_role(uuid, uuid, text) to authenticated, service_role;

-- Room topics are private: members receive and send (typing, presence).
do $$
begin
  if exists (select 1 from pg_tables where schemaname = 'realtime' and tablename = 'messages') then
    create policy "room members receive their room" on realtime.messages
      for select to authenticated
      using (public.chat_topic_room(realtime.topic()) in (select public.chat_my_room_ids()));
    create policy "room members who are not muted send to their room" on realtime.messages
      for insert to authenticated
      with check (public.chat_can_post(public.chat_topic_room(realtime.topic())));
  end if;
exception when insufficient_privilege or duplicate_object then
  null; -- on Supabase the operator manages policies on realtime.messages
end $$;
