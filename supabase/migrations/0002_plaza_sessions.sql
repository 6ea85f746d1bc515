-- Plaza's own sessions (embedded and self-hosted auth): refresh tokens, stored hashed, rotated on
-- every use. Tokens of one sign-in share a session_id; reuse of a rotated token revokes the session.
-- Lives in the private `plaza` schema: no user role can read it.

revoke all on schema plaza from public;

create table plaza.refresh_tokens (
  id bigint generated always as identity primary key,
  token_hash text not null unique,
  user_id uuid not null references auth.users (id) on delete cascade,
  session_id uuid not null,
  revoked_at timestamptz,
  rotated_at timestamptz,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);

create index refresh_tokens_session_idx on plaza.refresh_tokens (session_id);
create index refresh_tokens_user_idx on plaza.refresh_tokens (user_id);
