-- Events (issue 6): series and their materialized occurrences, organizers, RSVPs with an exact
-- capacity and a first-come waitlist, approvals, check-in, invitations, personal calendar feeds,
-- an RSVP history for organizer analytics and an outbox of notices for the workers.
--
-- Seats are counted under a lock on the event row: every RSVP change goes through a security
-- definer function that locks the event first, so concurrent RSVPs queue up in arrival order and
-- `going_seats <= capacity` always holds (also as a check constraint).

create table public.event_series (
  id uuid primary key default gen_random_uuid(),
  created_by uuid references auth.users (id) on delete set null,
  -- The RRULE (without DTSTART) the occurrences were expanded from; null for a one-off event.
  rrule text check (rrule is null or char_length(rrule) <= 500),
  client_id text check (char_length(client_id) between 1 and 100),
  created_at timestamptz not null default now()
);
create unique index event_series_client_idx on public.event_series (created_by, client_id)
  where client_id is not null;

create table public.event_organizers (
  series_id uuid not null references public.event_series (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  added_at timestamptz not null default now(),
  primary key (series_id, user_id)
);
create index event_organizers_user_idx on public.event_organizers (user_id, series_id);

create table public.events (
  id uuid primary key default gen_random_uuid(),
  series_id uuid not null references public.event_series (id) on delete cascade,
  -- Position in the series (0 for the first occurrence).
  occurrence int not null default 0,
  title text not null check (char_length(title) between 1 and 120),
  description text not null default '' check (char_length(description) <= 10000),
  category text not null check (category in (
    'social', 'music', 'sports', 'outdoors', 'food', 'learning', 'tech', 'arts', 'family', 'volunteering', 'other'
  )),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  timezone text not null check (char_length(timezone) between 1 and 64),
  venue_name text check (char_length(venue_name) between 1 and 120),
  venue_address text check (char_length(venue_address) <= 300),
  lat double precision check (lat between -90 and 90),
  lng double precision check (lng between -180 and 180),
  online_url text check (online_url ~ '^https?://' and char_length(online_url) <= 2048),
  capacity int check (capacity between 1 and 100000),
  visibility text not null check (visibility in ('public', 'members', 'invite')),
  requires_approval boolean not null default false,
  status text not null check (status in ('draft', 'published', 'cancelled')),
  invite_token text not null,
  -- Seats taken by people going (each person plus their guests), and people per state.
  going_seats int not null default 0,
  going_count int not null default 0,
  waitlist_count int not null default 0,
  pending_count int not null default 0,
  maybe_count int not null default 0,
  -- Bumped on every change a calendar should pick up (RFC 5545 SEQUENCE).
  sequence int not null default 0,
  cancelled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  search tsvector generated always as (
    to_tsvector('english', title || ' ' || coalesce(venue_name, '') || ' ' || description)
  ) stored,
  check (ends_at > starts_at),
  check (capacity is null or going_seats <= capacity),
  check ((lat is null) = (lng is null)),
  check (venue_name is not null or online_url is not null),
  check ((status = 'cancelled') = (cancelled_at is not null))
);
create index events_starts_idx on public.events (starts_at, id) where status = 'published';
create index events_series_idx on public.events (series_id, starts_at);
create index events_search_idx on public.events using gin (search);
create index events_location_idx on public.events (lat, lng) where lat is not null and status = 'published';

create sequence public.event_waitlist_seq;

create table public.event_rsvps (
  event_id uuid not null references public.events (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  state text not null check (state in ('going', 'waitlisted', 'pending', 'maybe', 'not_going', 'declined')),
  guests int not null default 0 check (guests between 0 and 10),
  -- Arrival order on the waitlist (set when the person joins it, kept while they wait).
  queue_seq bigint,
  -- The ticket a going person shows at the door (kept if they leave and come back).
  ticket_code text,
  checked_in_at timestamptz,
  checked_in_by uuid references auth.users (id) on delete set null,
  responded_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (event_id, user_id),
  check ((state = 'waitlisted') = (queue_seq is not null)),
  check (state <> 'going' or ticket_code is not null)
);
create unique index event_rsvps_ticket_idx on public.event_rsvps (event_id, ticket_code) where ticket_code is not null;
create index event_rsvps_waitlist_idx on public.event_rsvps (event_id, queue_seq) where state = 'waitlisted';
create index event_rsvps_user_idx on public.event_rsvps (user_id, state);

-- Every change of an RSVP's state, for the organizer's timeline and conversion figures.
create table public.event_rsvp_log (
  id bigserial primary key,
  event_id uuid not null references public.events (id) on delete cascade,
  user_id uuid not null,
  from_state text,
  to_state text not null,
  seats_delta int not null default 0,
  at timestamptz not null default now()
);
create index event_rsvp_log_event_idx on public.event_rsvp_log (event_id, id);

-- People who opened an invite-only event's invitation link.
create table public.event_invites (
  event_id uuid not null references public.events (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  invited_at timestamptz not null default now(),
  primary key (event_id, user_id)
);
create index event_invites_user_idx on public.event_invites (user_id);

-- Notices the workers turn into notifications and reminder jobs, written in the transaction of the
-- change they announce (a rollback announces nothing). `user_id` null: everyone the notice concerns.
create table public.event_outbox (
  id bigserial primary key,
  event_id uuid not null references public.events (id) on delete cascade,
  kind text not null check (kind in ('going', 'left', 'promoted', 'approved', 'declined', 'changed', 'cancelled')),
  user_id uuid references auth.users (id) on delete cascade,
  -- 'changed': the start time before the change (its reminders are withdrawn).
  data jsonb,
  created_at timestamptz not null default now(),
  -- A flusher working on the row; another may take it over after this time.
  claimed_until timestamptz,
  done_at timestamptz
);
create index event_outbox_pending_idx on public.event_outbox (id) where done_at is null;

-- The secret of a person's subscribable calendar feed (`/calendar/<token>.ics`).
create table public.calendar_feeds (
  user_id uuid primary key references auth.users (id) on delete cascade,
  token text not null unique check (char_length(token) >= 32),
  created_at timestamptz not null default now()
);

create trigger events_touch_updated_at before update on public.events
  for each row execute function public.touch_updated_at();

-- Helpers (security definer: they answer only about the caller, so policies do not recurse).

create function public.event_my_series() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select series_id from public.event_organizers where user_id = auth.uid()
$$;

create function public.event_my_invites() returns setof uuid
language sql stable security definer set search_path = '' as $$
  select event_id from public.event_invites where user_id = auth.uid()
  union
  select event_id from public.event_rsvps where user_id = auth.uid()
$$;

create function public.event_series_creator(p_series uuid) returns uuid
language sql stable security definer set search_path = '' as $$
  select created_by from public.event_series where id = p_series
$$;

-- Whether the caller may see the event (what the select policy on events says, for definer code).
create function public.event_can_see(p_event uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.events e where e.id = p_event and (
      (e.status <> 'draft' and (
        e.visibility = 'public'
        or (e.visibility = 'members' and auth.uid() is not null)
        or (e.visibility = 'invite' and e.id in (select public.event_my_invites()))))
      or e.series_id in (select public.event_my_series())
      or public.is_admin()))
$$;

create function public.event_is_organizer(p_event uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.events e join public.event_organizers o on o.series_id = e.series_id
    where e.id = p_event and o.user_id = auth.uid()
  ) or public.is_admin()
$$;

-- The event of an `event:<uuid>` topic, or null for any other topic.
create function public.event_topic_event(p_topic text) returns uuid
language sql immutable set search_path = '' as $$
  select case when p_topic ~ '^event:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(p_topic, 7)::uuid end
$$;

-- A ticket code: 12 characters from a cryptographically random UUID, without look-alikes.
create function public.event_ticket_code() returns text
language sql volatile set search_path = '' as $$
  select translate(upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 12)), '01', 'XY')
$$;

revoke execute on function public.event_my_series(), public.event_my_invites(), public.event_series_creator(uuid),
  public.event_can_see(uuid), public.event_is_organizer(uuid), public.event_ticket_code() from public, anon;
grant execute on function public.event_my_series(), public.event_my_invites(), public.event_series_creator(uuid),
  public.event_can_see(uuid), public.event_is_organizer(uuid) to authenticated, service_role;
grant execute on function public.event_topic_event(text) to anon, authenticated, service_role;

-- Counts on the event row follow every RSVP change, and every state change is logged.

create function public.event_rsvps_count() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  o public.event_rsvps := case when tg_op in ('UPDATE', 'DELETE') then old end;
  n public.event_rsvps := case when tg_op in ('UPDATE', 'INSERT') then new end;
  v_event uuid := coalesce(n.event_id, o.event_id);
  v_seats int := (case when n.state = 'going' then 1 + n.guests else 0 end)
    - (case when o.state = 'going' then 1 + o.guests else 0 end);
begin
  update public.events set
    going_seats = going_seats + v_seats,
    going_count = going_count + (n.state is not distinct from 'going')::int - (o.state is not distinct from 'going')::int,
    waitlist_count = waitlist_count + (n.state is not distinct from 'waitlisted')::int
      - (o.state is not distinct from 'waitlisted')::int,
    pending_count = pending_count + (n.state is not distinct from 'pending')::int
      - (o.state is not distinct from 'pending')::int,
    maybe_count = maybe_count + (n.state is not distinct from 'maybe')::int - (o.state is not distinct from 'maybe')::int
  where id = v_event
    and (v_seats <> 0 or n.state is distinct from o.state);
  if tg_op <> 'DELETE' and (o.state is distinct from n.state or v_seats <> 0) then
    insert into public.event_rsvp_log (event_id, user_id, from_state, to_state, seats_delta)
    values (n.event_id, n.user_id, o.state, n.state, v_seats);
    if n.state = 'going' and o.state is distinct from 'going' then
      insert into public.event_outbox (event_id, kind, user_id) values (n.event_id,
        case o.state when 'waitlisted' then 'promoted' when 'pending' then 'approved' else 'going' end, n.user_id);
    elsif o.state = 'going' and n.state <> 'going' then
      insert into public.event_outbox (event_id, kind, user_id) values (n.event_id, 'left', n.user_id);
    elsif o.state = 'pending' and n.state = 'waitlisted' then
      insert into public.event_outbox (event_id, kind, user_id) values (n.event_id, 'approved', n.user_id);
    elsif n.state = 'declined' and o.state is distinct from 'declined' then
      insert into public.event_outbox (event_id, kind, user_id) values (n.event_id, 'declined', n.user_id);
    end if;
  end if;
  return null;
end $$;

create trigger event_rsvps_count after insert or update or delete on public.event_rsvps
  for each row execute function public.event_rsvps_count();

-- Live counts on `event:<id>` (public for public events, so anyone on the page sees them), and
-- notices when a published event changes time or place or is cancelled.
create function public.event_counts_json(e public.events) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'event_id', e.id,
    'status', e.status,
    'going', e.going_count,
    'going_seats', e.going_seats,
    'waitlisted', e.waitlist_count,
    'pending', e.pending_count,
    'maybe', e.maybe_count,
    'capacity', e.capacity,
    'capacity_left', case when e.capacity is null then null else greatest(e.capacity - e.going_seats, 0) end,
    'sequence', e.sequence
  )
$$;

create function public.events_after_update() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if (new.going_seats, new.going_count, new.waitlist_count, new.pending_count, new.maybe_count, new.capacity,
      new.status, new.sequence) is distinct from
     (old.going_seats, old.going_count, old.waitlist_count, old.pending_count, old.maybe_count, old.capacity,
      old.status, old.sequence) and new.status <> 'draft' then
    perform realtime.send(public.event_counts_json(new), 'counts', 'event:' || new.id,
      new.visibility <> 'public');
  end if;
  if old.status = 'published' and new.status = 'cancelled' then
    insert into public.event_outbox (event_id, kind) values (new.id, 'cancelled');
  elsif old.status = 'published' and new.status = 'published'
    and (new.starts_at, new.ends_at, new.venue_name, new.venue_address, new.online_url)
      is distinct from (old.starts_at, old.ends_at, old.venue_name, old.venue_address, old.online_url) then
    insert into public.event_outbox (event_id, kind, data)
    values (new.id, 'changed', jsonb_build_object('previous_starts_at', public.iso_utc(old.starts_at)));
  end if;
  return null;
end $$;

create trigger events_after_update after update on public.events
  for each row execute function public.events_after_update();

-- Calendar-relevant changes bump SEQUENCE.
create function public.events_bump_sequence() returns trigger
language plpgsql set search_path = '' as $$
begin
  if old.status = 'cancelled' and new.status <> 'cancelled' then
    raise exception 'A cancelled event stays cancelled.' using errcode = '22023';
  end if;
  if (new.title, new.description, new.starts_at, new.ends_at, new.timezone, new.venue_name, new.venue_address,
      new.lat, new.lng, new.online_url, new.status)
    is distinct from (old.title, old.description, old.starts_at, old.ends_at, old.timezone, old.venue_name,
      old.venue_address, old.lat, old.lng, old.online_url, old.status) then
    new.sequence := old.sequence + 1;
  end if;
  return new;
end $$;

create trigger events_bump_sequence before update on public.events
  for each row execute function public.events_bump_sequence();

-- RSVPs. Errors come back as {"error": code} (nothing written), results as the caller's new state.

-- The caller's place on the waitlist (1 = next).
create function public.event_waitlist_position(p_event uuid, p_seq bigint) returns int
language sql stable security definer set search_path = '' as $$
  select count(*)::int from public.event_rsvps
  where event_id = p_event and state = 'waitlisted' and queue_seq <= p_seq
$$;

create function public.event_rsvp_json(r public.event_rsvps) returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'state', r.state,
    'guests', r.guests,
    'position', case when r.state = 'waitlisted' then public.event_waitlist_position(r.event_id, r.queue_seq) end,
    'ticket_code', case when r.state = 'going' then r.ticket_code end,
    'checked_in_at', public.iso_utc(r.checked_in_at)
  )
$$;

-- Moves people from the head of the waitlist to going while their party fits (strictly in order:
-- a large party at the head is not overtaken). The event row must be locked by the caller.
create function public.event_promote(p_event uuid) returns int
language plpgsql security definer set search_path = '' as $$
declare
  h public.event_rsvps;
  v_left int;
  v_promoted int := 0;
begin
  loop
    select * into h from public.event_rsvps
    where event_id = p_event and state = 'waitlisted' order by queue_seq limit 1;
    exit when not found;
    select case when capacity is null then null else capacity - going_seats end into v_left
    from public.events where id = p_event;
    exit when v_left is not null and v_left < 1 + h.guests;
    update public.event_rsvps
    set state = 'going', queue_seq = null, ticket_code = coalesce(ticket_code, public.event_ticket_code()),
      updated_at = now()
    where event_id = p_event and user_id = h.user_id;
    v_promoted := v_promoted + 1;
  end loop;
  return v_promoted;
end $$;

create function public.event_rsvp(p_event uuid, p_status text, p_guests int) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_uid uuid := auth.uid();
  e public.events;
  r public.event_rsvps;
  v_guests int;
  v_state text;
  v_fits boolean;
begin
  if v_uid is null then return jsonb_build_object('error', 'unauthorized'); end if;
  if p_status not in ('going', 'maybe', 'not_going') or p_guests < 0 or p_guests > 10 then
    return jsonb_build_object('error', 'invalid');
  end if;
  if not public.event_can_see(p_event) then return jsonb_build_object('error', 'not_found'); end if;
  select * into e from public.events where id = p_event for update;
  if e.status = 'draft' then return jsonb_build_object('error', 'not_published'); end if;
  if e.status = 'cancelled' then return jsonb_build_object('error', 'cancelled'); end if;
  if e.ends_at <= now() then return jsonb_build_object('error', 'past'); end if;
  select * into r from public.event_rsvps where event_id = p_event and user_id = v_uid;
  if r.state = 'declined' then return jsonb_build_object('error', 'declined'); end if;
  v_guests := coalesce(p_guests, r.guests, 0);

  if p_status = 'going' and r.state in ('going', 'waitlisted', 'pending') then
    -- Already in: only the party size can change. A going party grows only into free seats.
    if r.state = 'going' and v_guests > r.guests and e.capacity is not null
      and e.going_seats + v_guests - r.guests > e.capacity then
      return jsonb_build_object('error', 'no_seats_for_guests', 'seats_left', e.capacity - e.going_seats);
    end if;
    update public.event_rsvps set guests = v_guests, updated_at = now()
    where event_id = p_event and user_id = v_uid returning * into r;
    -- A smaller party (going, or at the head of the waitlist) may let someone in.
    perform public.event_promote(p_event);
    select * into r from public.event_rsvps where event_id = p_event and user_id = v_uid;
    return public.event_rsvp_json(r);
  end if;

  if p_status = 'going' then
    v_fits := (e.capacity is null or e.going_seats + 1 + v_guests <= e.capacity) and e.waitlist_count = 0;
    v_state := case
      when e.requires_approval and not public.event_is_organizer(p_event) then 'pending'
      when v_fits then 'going'
      else 'waitlisted' end;
  else
    v_state := p_status;
  end if;

  insert into public.event_rsvps (event_id, user_id, state, guests, queue_seq, ticket_code)
  values (p_event, v_uid, v_state, v_guests,
    case when v_state = 'waitlisted' then nextval('public.event_waitlist_seq') end,
    case when v_state = 'going' then public.event_ticket_code() end)
  on conflict (event_id, user_id) do update set
    state = excluded.state,
    guests = excluded.guests,
    queue_seq = excluded.queue_seq,
    ticket_code = case when excluded.state = 'going'
      then coalesce(public.event_rsvps.ticket_code, excluded.ticket_code) else public.event_rsvps.ticket_code end,
    responded_at = case when excluded.state is distinct from public.event_rsvps.state
      then now() else public.event_rsvps.responded_at end,
    updated_at = now()
  returning * into r;
  if r.state <> 'going' then perform public.event_promote(p_event); end if;
  select * into r from public.event_rsvps where event_id = p_event and user_id = v_uid;
  return public.event_rsvp_json(r);
end $$;

-- An organizer approves (-> going, or the waitlist when full) or declines a pending request.
create function public.event_decide(p_event uuid, p_user uuid, p_approve boolean) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  e public.events;
  r public.event_rsvps;
  v_state text;
begin
  if not public.event_is_organizer(p_event) then
    return jsonb_build_object('error', case when public.event_can_see(p_event) then 'forbidden' else 'not_found' end);
  end if;
  select * into e from public.events where id = p_event for update;
  select * into r from public.event_rsvps where event_id = p_event and user_id = p_user for update;
  if not found then return jsonb_build_object('error', 'no_rsvp'); end if;
  if r.state <> 'pending' then
    return jsonb_build_object('error', 'not_pending', 'state', r.state);
  end if;
  v_state := case
    when not p_approve then 'declined'
    when (e.capacity is null or e.going_seats + 1 + r.guests <= e.capacity) and e.waitlist_count = 0 then 'going'
    else 'waitlisted' end;
  update public.event_rsvps set state = v_state,
    queue_seq = case when v_state = 'waitlisted' then nextval('public.event_waitlist_seq') end,
    ticket_code = case when v_state = 'going' then coalesce(ticket_code, public.event_ticket_code())
      else ticket_code end,
    updated_at = now()
  where event_id = p_event and user_id = p_user returning * into r;
  return public.event_rsvp_json(r);
end $$;

-- After an organizer raised the capacity: fill the new seats from the waitlist.
create function public.event_fill_seats(p_event uuid) returns int
language plpgsql security definer set search_path = '' as $$
begin
  if not public.event_is_organizer(p_event) and coalesce(auth.role(), '') <> 'service_role' then
    raise exception 'Only organizers can do that.' using errcode = '42501';
  end if;
  perform 1 from public.events where id = p_event for update;
  return public.event_promote(p_event);
end $$;

-- Check-in by ticket code, recorded once.
create function public.event_check_in(p_event uuid, p_code text) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  r public.event_rsvps;
begin
  if not public.event_is_organizer(p_event) then
    return jsonb_build_object('error', case when public.event_can_see(p_event) then 'forbidden' else 'not_found' end);
  end if;
  select * into r from public.event_rsvps where event_id = p_event and ticket_code = p_code for update;
  if not found then return jsonb_build_object('error', 'unknown_code'); end if;
  if r.state <> 'going' then return jsonb_build_object('error', 'not_going', 'state', r.state); end if;
  if r.checked_in_at is not null then
    return jsonb_build_object('error', 'already_checked_in', 'user_id', r.user_id,
      'checked_in_at', public.iso_utc(r.checked_in_at));
  end if;
  update public.event_rsvps set checked_in_at = now(), checked_in_by = auth.uid(), updated_at = now()
  where event_id = p_event and user_id = r.user_id returning * into r;
  return jsonb_build_object('user_id', r.user_id, 'guests', r.guests, 'checked_in_at', public.iso_utc(r.checked_in_at));
end $$;

-- Opening an invitation link: the token must be the event's current one. It invites the person to
-- every occurrence of the series that shares the token.
create function public.event_accept_invite(p_event uuid, p_token text) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  e public.events;
begin
  if auth.uid() is null then return false; end if;
  select * into e from public.events where id = p_event and status <> 'draft' and visibility = 'invite';
  if not found or e.invite_token <> p_token then return false; end if;
  insert into public.event_invites (event_id, user_id)
  select id, auth.uid() from public.events
  where series_id = e.series_id and invite_token = p_token and visibility = 'invite'
  on conflict do nothing;
  return true;
end $$;

-- The invitation token of an event, for its organizers only (the column is not granted to users).
create function public.event_invite_token(p_event uuid) returns text
language sql stable security definer set search_path = '' as $$
  select invite_token from public.events where id = p_event and public.event_is_organizer(p_event)
$$;

-- Organizers with their names (profiles are private to signed-in people; organizers of an event
-- the caller may see are not).
create function public.event_organizers_json(p_event uuid) returns jsonb
language sql stable security definer set search_path = '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('user_id', o.user_id, 'name', p.name) order by o.added_at), '[]')
  from public.events e
  join public.event_organizers o on o.series_id = e.series_id
  join public.profiles p on p.id = o.user_id
  where e.id = p_event and (e.status <> 'draft' and e.visibility = 'public' or public.event_can_see(p_event))
$$;

-- The person a calendar feed token belongs to (the feed itself is read as the service role).
create function public.calendar_feed_user(p_token text) returns uuid
language sql stable security definer set search_path = '' as $$
  select user_id from public.calendar_feeds where token = p_token
$$;

revoke execute on function public.event_waitlist_position(uuid, bigint), public.event_rsvp_json(public.event_rsvps),
  public.event_promote(uuid), public.event_rsvp(uuid, text, int), public.event_decide(uuid, uuid, boolean),
  public.event_fill_seats(uuid), public.event_check_in(uuid, text), public.event_accept_invite(uuid, text),
  public.calendar_feed_user(text) from public, anon;
grant execute on function public.event_rsvp(uuid, text, int), public.event_decide(uuid, uuid, boolean),
  public.event_fill_seats(uuid), public.event_check_in(uuid, text), public.event_accept_invite(uuid, text),
  public.event_rsvp_json(public.event_rsvps), public.event_invite_token(uuid)
  to authenticated, service_role;
revoke execute on function public.event_invite_token(uuid) from public, anon;
grant execute on function public.event_waitlist_position(uuid, bigint) to service_role;
grant execute on function public.event_promote(uuid), public.calendar_feed_user(text) to service_role;
grant execute on function public.event_counts_json(public.events), public.event_organizers_json(uuid)
  to anon, authenticated, service_role;

-- Policies.

alter table public.event_series enable row level security;
create policy "series are readable" on public.event_series for select to anon, authenticated using (true);
create policy "people create series as themselves" on public.event_series
  for insert to authenticated with check (created_by = (select auth.uid()));
create policy "organizers change their series" on public.event_series for update to authenticated
  using (id in (select public.event_my_series()) or (select public.is_admin()))
  with check (id in (select public.event_my_series()) or (select public.is_admin()));

alter table public.event_organizers enable row level security;
create policy "organizers are public" on public.event_organizers for select to anon, authenticated using (true);
create policy "the creator and organizers add organizers" on public.event_organizers
  for insert to authenticated with check (
    public.event_series_creator(series_id) = (select auth.uid())
    or series_id in (select public.event_my_series()) or (select public.is_admin()));
create policy "organizers remove organizers" on public.event_organizers for delete to authenticated
  using (series_id in (select public.event_my_series()) or (select public.is_admin()));

alter table public.events enable row level security;
create policy "public events are visible to everyone" on public.events for select to anon
  using (status <> 'draft' and visibility = 'public');
create policy "events are visible to the people they are for" on public.events for select to authenticated
  using (
    (status <> 'draft' and (visibility in ('public', 'members') or id in (select public.event_my_invites())))
    or series_id in (select public.event_my_series())
    or (select public.is_admin()));
create policy "organizers add occurrences" on public.events for insert to authenticated
  with check (series_id in (select public.event_my_series()) or (select public.is_admin()));
create policy "organizers change their events" on public.events for update to authenticated
  using (series_id in (select public.event_my_series()) or (select public.is_admin()))
  with check (series_id in (select public.event_my_series()) or (select public.is_admin()));
create policy "organizers remove occurrences nobody answered" on public.events for delete to authenticated
  using ((series_id in (select public.event_my_series()) or (select public.is_admin()))
    and going_count + waitlist_count + pending_count + maybe_count = 0);

alter table public.event_rsvps enable row level security;
create policy "people see their RSVPs and organizers their events' RSVPs" on public.event_rsvps
  for select to authenticated using (
    user_id = (select auth.uid())
    or event_id in (select id from public.events where series_id in (select public.event_my_series()))
    or (select public.is_admin()));

alter table public.event_rsvp_log enable row level security;
create policy "organizers read their events' history" on public.event_rsvp_log for select to authenticated
  using (event_id in (select id from public.events where series_id in (select public.event_my_series()))
    or (select public.is_admin()));

alter table public.event_invites enable row level security;
create policy "people see their invitations and organizers their events'" on public.event_invites
  for select to authenticated using (
    user_id = (select auth.uid())
    or event_id in (select id from public.events where series_id in (select public.event_my_series())));

alter table public.event_outbox enable row level security;

alter table public.calendar_feeds enable row level security;
create policy "people manage their feed" on public.calendar_feeds for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));

revoke all on public.event_series, public.event_organizers, public.events, public.event_rsvps,
  public.event_rsvp_log, public.event_invites, public.event_outbox, public.calendar_feeds from anon, authenticated;
grant select on public.event_series, public.event_organizers to anon, authenticated;
grant select (id, series_id, occurrence, title, description, category, starts_at, ends_at, timezone, venue_name,
  venue_address, lat, lng, online_url, capacity, visibility, requires_approval, status, going_seats, going_count,
  waitlist_count, pending_count, maybe_count, sequence, cancelled_at, created_at, updated_at, search)
  on public.events to anon;
grant select (id, series_id, occurrence, title, description, category, starts_at, ends_at, timezone, venue_name,
  venue_address, lat, lng, online_url, capacity, visibility, requires_approval, status, going_seats, going_count,
  waitlist_count, pending_count, maybe_count, sequence, cancelled_at, created_at, updated_at, search)
  on public.events to authenticated;
grant insert (id, created_by, rrule, client_id) on public.event_series to authenticated;
grant update (rrule) on public.event_series to authenticated;
grant insert, delete on public.event_organizers to authenticated;
grant insert (id, series_id, occurrence, title, description, category, starts_at, ends_at, timezone, venue_name,
  venue_address, lat, lng, online_url, capacity, visibility, requires_approval, status, invite_token)
  on public.events to authenticated;
grant update (series_id, title, description, category, starts_at, ends_at, timezone, venue_name, venue_address,
  lat, lng, online_url, capacity, visibility, requires_approval, status, invite_token, cancelled_at, occurrence)
  on public.events to authenticated;
grant delete on public.events to authenticated;
grant select on public.event_rsvps, public.event_rsvp_log, public.event_invites to authenticated;
grant select, insert, update, delete on public.calendar_feeds to authenticated;
grant all on public.event_series, public.event_organizers, public.events, public.event_rsvps,
  public.event_rsvp_log, public.event_invites, public.event_outbox, public.calendar_feeds to service_role;
grant usage on sequence public.event_rsvp_log_id_seq, public.event_outbox_id_seq, public.event_waitlist_seq
  to service_role;

-- Who may receive `event:<id>` when it is private: whoever may see the event.
do $$
begin
  if not exists (
    select 1 from pg_policies where schemaname = 'realtime' and tablename = 'messages'
      and policyname = 'people who may see an event receive its counts'
  ) then
    create policy "people who may see an event receive its counts" on realtime.messages
      for select to authenticated
      using (public.event_can_see(public.event_topic_event(realtime.topic())));
  end if;
exception when insufficient_privilege or duplicate_object then
  null; -- on Supabase the operator manages policies on realtime.messages
end $$;
