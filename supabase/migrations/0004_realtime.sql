-- Realtime support: the scale-out bus's overflow table, and the "online" presence channel.

-- Messages between Plaza processes that exceed NOTIFY's 8000 bytes; kept about a minute.
create unlogged table plaza.realtime_fanout (
  id bigint generated always as identity primary key,
  body text not null,
  created_at timestamptz not null default now()
);

-- Who is online: a private channel every signed-in member may join, read and track presence on.
do $$
begin
  if exists (select 1 from pg_tables where schemaname = 'realtime' and tablename = 'messages') then
    create policy "signed-in people share the online channel" on realtime.messages
      for select to authenticated using (realtime.topic() = 'online');
    create policy "signed-in people announce themselves online" on realtime.messages
      for insert to authenticated with check (realtime.topic() = 'online');
  end if;
exception when insufficient_privilege or duplicate_object then
  null; -- on Supabase the operator manages policies on realtime.messages
end $$;
