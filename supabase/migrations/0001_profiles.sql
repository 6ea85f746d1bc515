-- Profiles: one row per user, created by a trigger when the user signs up.

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 80),
  bio text not null default '' check (char_length(bio) <= 500),
  avatar_url text check (avatar_url is null or (avatar_url ~ '^https?://' and char_length(avatar_url) <= 2048)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table public.profiles enable row level security;

create policy "profiles are visible to signed-in people" on public.profiles
  for select to authenticated using (true);

create policy "people update their own profile" on public.profiles
  for update to authenticated using (id = auth.uid()) with check (id = auth.uid());

grant select on public.profiles to authenticated;
grant update (name, bio, avatar_url) on public.profiles to authenticated;
grant all on public.profiles to service_role;

create function public.touch_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end $$;

create trigger profiles_touch_updated_at before update on public.profiles
  for each row execute function public.touch_updated_at();

create function public.handle_new_user() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.profiles (id, name)
  values (
    new.id,
    left(coalesce(nullif(trim(new.raw_user_meta_data ->> 'name'), ''), split_part(new.email, '@', 1)), 80)
  );
  return new;
end $$;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();

-- Roles live in app_metadata.role (member, partner, admin), never in user_metadata.

create function public.is_admin() returns boolean language sql stable as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') = 'admin'
$$;

-- Admin-only listing of users with their email and role (auth.users is not readable by users).
create function public.admin_list_users(p_after_email text default null, p_limit int default 50)
returns table (id uuid, email text, name text, role text, created_at timestamptz, last_sign_in_at timestamptz)
language plpgsql stable security definer set search_path = '' as $$
begin
  if not public.is_admin() then
    raise exception 'only admins may list users' using errcode = '42501';
  end if;
  return query
    select u.id, u.email::text, p.name, coalesce(u.raw_app_meta_data ->> 'role', 'member'),
           u.created_at, u.last_sign_in_at
    from auth.users u left join public.profiles p on p.id = u.id
    where p_after_email is null or lower(u.email) > lower(p_after_email)
    order by lower(u.email)
    limit least(greatest(p_limit, 1), 200);
end $$;

-- Admin-only role change; takes effect in the user's next access token.
create function public.admin_set_user_role(p_user uuid, p_role text)
returns table (id uuid, email text, role text)
language plpgsql volatile security definer set search_path = '' as $$
begin
  if not public.is_admin() then
    raise exception 'only admins may change roles' using errcode = '42501';
  end if;
  if p_role not in ('member', 'partner', 'admin') then
    raise exception 'unknown role %', p_role using errcode = '22023';
  end if;
  return query
    update auth.users u
       set raw_app_meta_data = u.raw_app_meta_data || jsonb_build_object('role', p_role),
           updated_at = now()
     where u.id = p_user
    returning u.id, u.email::text, u.raw_app_meta_data ->> 'role';
  if not found then
    raise exception 'no user %', p_user using errcode = 'P0002';
  end if;
end $$;

revoke execute on function public.admin_list_users(text, int) from public, anon;
revoke execute on function public.admin_set_user_role(uuid, text) from public, anon;
grant execute on function public.admin_list_users(text, int) to authenticated, service_role;
grant execute on function public.admin_set_user_role(uuid, text) to authenticated, service_role;
