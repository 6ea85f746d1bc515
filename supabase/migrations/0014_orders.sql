-- Orders and live location (issue 8, docs/orders.md): orders with a checked state machine, their
-- timeline (which is also the notification outbox), partners' location fixes with privacy windows,
-- geofence arrivals, and the broadcasts on `order:<id>` and `admin:dispatch`.

create table public.orders (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null references auth.users (id) on delete cascade,
  partner_id uuid references auth.users (id) on delete set null,
  status text not null default 'requested' check (status in ('requested', 'assigned', 'en_route_pickup',
    'picked_up', 'en_route_dropoff', 'delivered', 'cancelled')),
  pickup_address text not null check (char_length(pickup_address) between 1 and 200),
  pickup_lat double precision not null check (pickup_lat between -90 and 90),
  pickup_lng double precision not null check (pickup_lng between -180 and 180),
  dropoff_address text not null check (char_length(dropoff_address) between 1 and 200),
  dropoff_lat double precision not null check (dropoff_lat between -90 and 90),
  dropoff_lng double precision not null check (dropoff_lng between -180 and 180),
  notes text not null default '' check (char_length(notes) <= 1000),
  client_id text check (client_id is null or char_length(client_id) between 1 and 100),
  fixes_dropped int not null default 0,
  share_version int not null default 1,
  status_changed_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (customer_id, client_id)
);
create index orders_customer_idx on public.orders (customer_id, created_at desc, id desc);
create index orders_partner_idx on public.orders (partner_id, created_at desc, id desc) where partner_id is not null;
create index orders_open_idx on public.orders (created_at desc, id desc)
  where status not in ('delivered', 'cancelled');
create index orders_created_idx on public.orders (created_at desc, id desc);

alter table public.rooms add constraint rooms_order_fk
  foreign key (order_id) references public.orders (id) on delete cascade;

-- The timeline of an order; rows with notified_at null are the customer's notifications still to
-- send (the API sends them after its commit, the `order-outbox` job sends what a crash left).
create table public.order_events (
  id bigint generated always as identity primary key,
  order_id uuid not null references public.orders (id) on delete cascade,
  kind text not null check (kind in ('created', 'assigned', 'status', 'arrived_pickup', 'arrived_dropoff')),
  status text,
  actor_id uuid references auth.users (id) on delete set null,
  data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  notify boolean not null default true,
  notified_at timestamptz,
  claimed_until timestamptz
);
create index order_events_order_idx on public.order_events (order_id, id);
-- An arrival is recorded once per order, stop and partner (a re-assigned order starts over).
create unique index order_events_arrival_once on public.order_events (order_id, kind, actor_id)
  where kind in ('arrived_pickup', 'arrived_dropoff');
create index order_events_pending_idx on public.order_events (id) where notify and notified_at is null;

-- Location fixes. The key is also the trail's order and makes a resent fix a no-op.
create table public.order_locations (
  order_id uuid not null references public.orders (id) on delete cascade,
  recorded_at timestamptz not null,
  partner_id uuid not null references auth.users (id) on delete cascade,
  lat double precision not null check (lat between -90 and 90),
  lng double precision not null check (lng between -180 and 180),
  accuracy real not null check (accuracy between 0 and 5000),
  speed real check (speed is null or speed between 0 and 100),
  heading double precision check (heading is null or (heading >= 0 and heading < 360)),
  received_at timestamptz not null default now(),
  primary key (order_id, recorded_at, partner_id)
);
create index order_locations_recorded_idx on public.order_locations (recorded_at);
create index order_locations_partner_idx on public.order_locations (partner_id, recorded_at desc);

-- Helpers. Definer functions answer about the caller only and pin search_path.

create function public.order_is_active(p_status text) returns boolean
language sql immutable set search_path = '' as $$
  select p_status in ('assigned', 'en_route_pickup', 'picked_up', 'en_route_dropoff')
$$;

create function public.order_is_en_route(p_status text) returns boolean
language sql immutable set search_path = '' as $$
  select p_status in ('en_route_pickup', 'en_route_dropoff')
$$;

-- Great-circle distance in metres (haversine, mean Earth radius).
create function public.geo_distance_m(lat1 double precision, lng1 double precision,
  lat2 double precision, lng2 double precision) returns double precision
language sql immutable set search_path = '' as $$
  select 2 * 6371008.8 * asin(least(1, sqrt(
    power(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lng2 - lng1) / 2), 2))))
$$;

create function public.order_topic_order(p_topic text) returns uuid
language sql immutable set search_path = '' as $$
  select case when p_topic ~ '^order:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(p_topic, 7)::uuid end
$$;

-- May the caller watch this order (status, chat, timeline)?
create function public.order_can_watch(p_order uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.orders o
    where o.id = p_order and (o.customer_id = auth.uid() or o.partner_id = auth.uid() or public.is_admin())
  )
$$;

-- May the caller see a fix of this order recorded at p_at by p_partner? Admins always; a partner
-- their own fixes; the customer only while the order is en route, and only fixes of the current leg.
create function public.order_can_see_fix(p_order uuid, p_at timestamptz, p_partner uuid default null)
returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.orders o
    where o.id = p_order and (public.is_admin()
      or p_partner = auth.uid() or (p_partner is null and o.partner_id = auth.uid())
      or (o.customer_id = auth.uid() and public.order_is_en_route(o.status) and p_at >= o.status_changed_at))
  )
$$;

create function public.is_partner(p_user uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce((select u.raw_app_meta_data ->> 'role' = 'partner' from auth.users u where u.id = p_user), false)
$$;

-- Revokes every share link of an order (customer or admin).
create function public.order_revoke_shares(p_order uuid) returns int
language plpgsql security definer set search_path = '' as $$
declare
  v int;
begin
  update public.orders set share_version = share_version + 1
  where id = p_order and (customer_id = auth.uid() or public.is_admin())
  returning share_version into v;
  if v is null then
    raise exception 'No such order.' using errcode = 'P0002';
  end if;
  return v;
end $$;

-- Partners for the dispatch board (admins only; auth.users is not readable by users).
create function public.dispatch_partners() returns table (id uuid, name text)
language sql stable security definer set search_path = '' as $$
  select u.id, coalesce(p.name, u.email::text) from auth.users u left join public.profiles p on p.id = u.id
  where u.raw_app_meta_data ->> 'role' = 'partner' and public.is_admin()
$$;

-- Policies.

alter table public.orders enable row level security;
create policy "customers, their partner and admins see an order" on public.orders
  for select to authenticated
  using (customer_id = (select auth.uid()) or partner_id = (select auth.uid()) or (select public.is_admin()));
create policy "people place their own orders" on public.orders
  for insert to authenticated
  with check (customer_id = (select auth.uid()));

alter table public.order_events enable row level security;
create policy "people who see an order see its timeline" on public.order_events
  for select to authenticated using (public.order_can_watch(order_id));

alter table public.order_locations enable row level security;
create policy "fixes are seen by the partner, admins, and the customer while en route" on public.order_locations
  for select to authenticated using (public.order_can_see_fix(order_id, recorded_at, partner_id));
create policy "the assigned partner records fixes of an active order" on public.order_locations
  for insert to authenticated
  with check (partner_id = (select auth.uid()) and exists (
    select 1 from public.orders o
    where o.id = order_id and o.partner_id = (select auth.uid()) and public.order_is_active(o.status)));

-- New orders: the server decides status, partner and times; the order gets its chat room and the
-- first timeline row.
create function public.order_before_insert() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.status := 'requested';
  new.partner_id := null;
  new.fixes_dropped := 0;
  new.share_version := 1;
  new.created_at := now();
  new.updated_at := now();
  new.status_changed_at := now();
  return new;
end $$;
create trigger orders_before_insert before insert on public.orders
  for each row execute function public.order_before_insert();

create function public.order_after_insert() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_room uuid;
begin
  insert into public.rooms (kind, name, topic, created_by, order_id)
  values ('order', 'Order ' || upper(substr(new.id::text, 1, 8)), left(new.dropoff_address, 250),
    new.customer_id, new.id)
  returning id into v_room;
  insert into public.room_members (room_id, user_id, role) values (v_room, new.customer_id, 'member');
  insert into public.order_events (order_id, kind, status, actor_id, notify)
  values (new.id, 'created', 'requested', new.customer_id, false);
  perform realtime.send(jsonb_build_object('order_id', new.id, 'status', new.status, 'partner_id', null),
    'order', 'admin:dispatch', true);
  return null;
end $$;
create trigger orders_after_insert after insert on public.orders
  for each row execute function public.order_after_insert();

-- The one way an order changes status or partner. Checks the caller and the transition under a
-- row lock (lib/orders/state.ts has the same table for precise errors). Errors:
-- PL403 not allowed for this person, PL409 illegal transition, PL422 not a partner, P0002 no order.
create function public.order_transition(p_order uuid, p_status text, p_partner uuid default null)
returns public.orders
language plpgsql security definer set search_path = '' as $$
declare
  o public.orders;
  v_uid uuid := auth.uid();
  v_admin boolean := public.is_admin();
  v_ok boolean;
  v_room uuid;
  v_name text;
  v_body text;
begin
  select * into o from public.orders where id = p_order for update;
  if not found or not (o.customer_id = v_uid or o.partner_id = v_uid or v_admin) then
    raise exception 'No such order.' using errcode = 'P0002';
  end if;
  if p_partner is not null then
    -- Assignment (admins): from requested, assigned or en_route_pickup, back to assigned.
    if not v_admin then
      raise exception 'Only admins assign orders.' using errcode = 'PL403';
    end if;
    if not public.is_partner(p_partner) then
      raise exception 'That person is not a partner.' using errcode = 'PL422';
    end if;
    if o.status not in ('requested', 'assigned', 'en_route_pickup') then
      raise exception 'An order that is %, cannot be assigned.', o.status using errcode = 'PL409';
    end if;
    p_status := 'assigned';
  else
    v_ok := case
      when p_status = 'cancelled' then
        (o.status in ('requested', 'assigned', 'en_route_pickup') and (o.customer_id = v_uid or v_admin))
        or (o.status in ('picked_up', 'en_route_dropoff') and v_admin)
      when o.partner_id is distinct from v_uid then null
      else (o.status, p_status) in (('assigned', 'en_route_pickup'), ('en_route_pickup', 'picked_up'),
        ('picked_up', 'en_route_dropoff'), ('en_route_dropoff', 'delivered'))
    end;
    if v_ok is null then
      raise exception 'Only the assigned partner moves an order along.' using errcode = 'PL403';
    elsif not v_ok then
      raise exception 'An order that is % cannot become %.', o.status, p_status using errcode = 'PL409';
    end if;
  end if;

  select id into v_room from public.rooms where order_id = o.id;
  if p_partner is not null and o.partner_id is distinct from p_partner then
    if o.partner_id is not null then
      delete from public.room_members where room_id = v_room and user_id = o.partner_id;
      perform pg_notify('plaza_realtime_recheck', 'order:' || o.id);
    end if;
    insert into public.room_members (room_id, user_id) values (v_room, p_partner) on conflict do nothing;
  end if;

  update public.orders
  set status = p_status, partner_id = coalesce(p_partner, partner_id), status_changed_at = now(),
    updated_at = now()
  where id = o.id returning * into o;

  v_name := coalesce((select name from public.profiles where id = o.partner_id), 'Your partner');
  insert into public.order_events (order_id, kind, status, actor_id, data)
  values (o.id, case when p_partner is not null then 'assigned' else 'status' end, o.status, v_uid,
    case when p_partner is not null then jsonb_build_object('partner_id', p_partner, 'partner_name', v_name)
    else '{}'::jsonb end);
  v_body := case o.status
    when 'assigned' then v_name || ' will take this order.'
    when 'en_route_pickup' then v_name || ' is on the way to the pickup.'
    when 'picked_up' then v_name || ' picked up the order.'
    when 'en_route_dropoff' then v_name || ' is on the way to you.'
    when 'delivered' then 'Delivered. Thank you!'
    else 'The order was cancelled.' end;
  perform public.chat_system_message(v_room, v_body, jsonb_build_object('order_id', o.id, 'status', o.status));
  -- Leaving or entering an en-route window changes what the customer may receive: authorize again.
  perform pg_notify('plaza_realtime_recheck', 'order:' || o.id);
  perform realtime.send(jsonb_build_object('order_id', o.id, 'status', o.status, 'partner_id', o.partner_id,
      'status_changed_at', o.status_changed_at), 'status', 'order:' || o.id, true);
  perform realtime.send(jsonb_build_object('order_id', o.id, 'status', o.status, 'partner_id', o.partner_id),
    'order', 'admin:dispatch', true);
  return o;
end $$;

-- A geofence arrival: recorded once per order and kind; returns whether this call recorded it.
create function public.order_arrived(p_order uuid, p_kind text) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  v_id bigint;
  v_room uuid;
  v_name text;
begin
  insert into public.order_events (order_id, kind, actor_id, data)
  select p_order, 'arrived_' || p_kind, o.partner_id, '{}'::jsonb from public.orders o where o.id = p_order
  on conflict (order_id, kind, actor_id) where kind in ('arrived_pickup', 'arrived_dropoff') do nothing
  returning id into v_id;
  if v_id is null then
    return false;
  end if;
  select r.id, coalesce(p.name, 'Your partner') into v_room, v_name
  from public.orders o join public.rooms r on r.order_id = o.id
  left join public.profiles p on p.id = o.partner_id where o.id = p_order;
  perform public.chat_system_message(v_room, v_name || case p_kind when 'pickup' then ' is at the pickup.'
    else ' is arriving at the dropoff.' end, jsonb_build_object('order_id', p_order, 'arrived', p_kind));
  perform realtime.send(jsonb_build_object('order_id', p_order, 'kind', p_kind, 'at', now()),
    'arrival', 'order:' || p_order, true);
  return true;
end $$;

-- New fixes: broadcast each order's new fixes (en route only) and check the geofences. One
-- statement of the ingest buffer carries the fixes of many orders; this runs once per statement.
create function public.order_locations_inserted() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  r record;
begin
  for r in
    select o.id, o.status,
      jsonb_agg(jsonb_build_object('lat', n.lat, 'lng', n.lng, 'accuracy', n.accuracy, 'speed', n.speed,
        'heading', n.heading, 'recorded_at', n.recorded_at) order by n.recorded_at)
        filter (where n.recorded_at >= o.status_changed_at) as fixes,
      min(public.geo_distance_m(n.lat, n.lng, o.pickup_lat, o.pickup_lng)) filter (where n.accuracy <= 150)
        as to_pickup,
      min(public.geo_distance_m(n.lat, n.lng, o.dropoff_lat, o.dropoff_lng)) filter (where n.accuracy <= 150)
        as to_dropoff
    from new_fixes n join public.orders o on o.id = n.order_id
    group by o.id, o.status, o.status_changed_at
  loop
    -- The ingest buffer (lib/location/ingest.ts) broadcasts its own fixes after the commit, straight
    -- to the realtime server; fixes inserted any other way are broadcast from here.
    if public.order_is_en_route(r.status) and r.fixes is not null
      and coalesce(current_setting('plaza.fix_broadcast', true), '') <> 'server' then
      perform realtime.send(jsonb_build_object('order_id', r.id, 'fixes', r.fixes), 'location',
        'order:' || r.id, true);
    end if;
    if r.status in ('assigned', 'en_route_pickup') and r.to_pickup <= 150 then
      perform public.order_arrived(r.id, 'pickup');
    elsif r.status = 'en_route_dropoff' and r.to_dropoff <= 150 then
      perform public.order_arrived(r.id, 'dropoff');
    end if;
  end loop;
  return null;
end $$;
create trigger order_locations_inserted after insert on public.order_locations
  referencing new table as new_fixes for each statement execute function public.order_locations_inserted();

-- The ingest buffer's one statement (lib/location/ingest.ts): inserts the fixes whose order is
-- active and assigned to that partner (the order row locked for share, so a concurrent "delivered"
-- cannot slip between), skips fixes already stored, and answers what was inserted (with the order's
-- status, for the broadcast) and which order/partner pairs were refused. A function so that its plan
-- is prepared once per connection.
create function public.order_locations_ingest(p_fixes text)
returns table (k text, order_id uuid, partner_id uuid, recorded_at timestamptz, broadcast boolean)
language plpgsql set search_path = '' as $$
begin
  perform set_config('plaza.fix_broadcast', 'server', true);
  return query
  with u as (
    select * from jsonb_to_recordset(p_fixes::jsonb) as x(order_id uuid, partner_id uuid, lat float8, lng float8,
      accuracy real, speed real, heading float8, recorded_at timestamptz)
  ), ok as (
    select u.*, public.order_is_en_route(o.status) and u.recorded_at >= o.status_changed_at as broadcast
    from u join public.orders o on o.id = u.order_id and o.partner_id = u.partner_id
      and public.order_is_active(o.status)
    for share of o
  ), ins as (
    insert into public.order_locations as l (order_id, recorded_at, partner_id, lat, lng, accuracy, speed, heading)
    select ok.order_id, ok.recorded_at, ok.partner_id, ok.lat, ok.lng, ok.accuracy, ok.speed, ok.heading from ok
    order by ok.order_id, ok.recorded_at
    on conflict do nothing
    returning l.order_id, l.recorded_at, l.partner_id
  )
  select 'inserted'::text, i.order_id, i.partner_id, i.recorded_at,
    (select ok.broadcast from ok where ok.order_id = i.order_id and ok.recorded_at = i.recorded_at
      and ok.partner_id = i.partner_id limit 1)
  from ins i
  union all
  select distinct 'inactive'::text, u.order_id, u.partner_id, null::timestamptz, null::boolean from u
  where not exists (select 1 from ok where ok.order_id = u.order_id and ok.partner_id = u.partner_id);
  perform set_config('plaza.fix_broadcast', '', true);
end $$;
revoke execute on function public.order_locations_ingest(text) from public, anon, authenticated;
grant execute on function public.order_locations_ingest(text) to service_role;

-- Realtime: `order:<id>` for the people of the order (location broadcasts only for who may see
-- them, so replaying the channel reveals nothing either); `admin:dispatch` for admins.
do $$
begin
  if exists (select 1 from pg_tables where schemaname = 'realtime' and tablename = 'messages')
    and not exists (select 1 from pg_policies where schemaname = 'realtime' and tablename = 'messages'
      and policyname = 'people of an order receive it') then
    create policy "people of an order receive it" on realtime.messages
      for select to authenticated
      using (public.order_can_watch(public.order_topic_order(realtime.topic()))
        and (event <> 'location' or public.order_can_see_fix(public.order_topic_order(realtime.topic()),
          inserted_at::timestamptz)));
    create policy "admins receive dispatch" on realtime.messages
      for select to authenticated
      using (realtime.topic() = 'admin:dispatch' and (select public.is_admin()));
  end if;
exception when insufficient_privilege or duplicate_object then
  null; -- on Supabase the operator manages policies on realtime.messages
end $$;

revoke execute on function public.order_before_insert(), public.order_after_insert(),
  public.order_arrived(uuid, text), public.order_locations_inserted() from public, anon, authenticated;
grant execute on function public.order_arrived(uuid, text) to service_role;
revoke execute on function public.is_partner(uuid) from public, anon, authenticated;
revoke execute on function public.dispatch_partners(), public.order_revoke_shares(uuid) from public, anon;
grant execute on function public.dispatch_partners(), public.order_revoke_shares(uuid) to authenticated, service_role;
grant execute on function public.is_partner(uuid) to service_role;
revoke execute on function public.order_transition(uuid, text, uuid), public.order_can_watch(uuid),
  public.order_can_see_fix(uuid, timestamptz, uuid) from public, anon;
grant execute on function public.order_transition(uuid, text, uuid), public.order_can_watch(uuid),
  public.order_can_see_fix(uuid, timestamptz, uuid) to authenticated, service_role;

revoke all on public.orders, public.order_events, public.order_locations from anon, authenticated;
grant select on public.orders, public.order_events, public.order_locations to authenticated;
grant insert (customer_id, pickup_address, pickup_lat, pickup_lng, dropoff_address, dropoff_lat, dropoff_lng,
  notes, client_id) on public.orders to authenticated;
grant insert (order_id, recorded_at, partner_id, lat, lng, accuracy, speed, heading)
  on public.order_locations to authenticated;
grant all on public.orders, public.order_events, public.order_locations to service_role;
