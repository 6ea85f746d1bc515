-- Cloud mode: the QStash message id of each job queued with a dedup id, so that jobs.cancel(dedupId)
-- can delete it from QStash. Private to the server.
create table plaza.qstash_messages (
  dedup_id text primary key,
  message_id text not null,
  created_at timestamptz not null default now()
);
