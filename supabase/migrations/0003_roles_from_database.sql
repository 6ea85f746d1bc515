-- Admin checks read the role from auth.users, not from the caller's JWT: a demoted admin's
-- access token stays valid for up to an hour, but loses its admin rights at once.
-- realtime.send is for the service role and for triggers (security definer), not for users.

create or replace function public.is_admin() returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce(
    (select u.raw_app_meta_data ->> 'role' = 'admin' from auth.users u where u.id = auth.uid()),
    false
  )
$$;

revoke execute on function public.is_admin() from public, anon;
grant execute on function public.is_admin() to authenticated, service_role;

do $$
begin
  revoke execute on function realtime.send(jsonb, text, text, boolean) from public, anon, authenticated;
  grant execute on function realtime.send(jsonb, text, text, boolean) to service_role;
exception when insufficient_privilege or undefined_function then
  -- On Supabase the function belongs to Supabase's own role and its grants are Supabase's.
  null;
end $$;
