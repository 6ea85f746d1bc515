/**
 * Plaza's Supabase-Realtime-compatible server: the WebSocket endpoint, broadcast from the database
 * (`realtime.send` → NOTIFY → subscribers), the REST broadcast API, replay, retention, and the
 * scale-out bus between processes on a shared Postgres.
 */
import type { Db, Queryable } from "../db/port.ts";
import { asService, asUser, dollarQuote } from "../db/as_user.ts";
import type { Logger } from "../log.ts";
import { topicAccess } from "./authz.ts";
import { createCluster } from "./cluster.ts";
import { defaultLimits, type RealtimeLimits, serveSocket } from "./connection.ts";
import type { Vsn } from "./frames.ts";
import { type Broadcast, createHub } from "./hub.ts";
import { type RealtimeIdentity, verifyRealtimeToken } from "./tokens.ts";

/** A message for the REST broadcast API or the server-side publisher. */
export interface OutgoingMessage {
  topic: string;
  event: string;
  payload: unknown;
  private: boolean;
}

/** Options for {@link createRealtimeServer}. */
export interface RealtimeServerOptions {
  db: Db;
  jwtKey: CryptoKey;
  log: Logger;
  limits?: Partial<RealtimeLimits>;
  /** Messages in realtime.messages older than this are purged (3 days). */
  retentionMs?: number;
}

/** Live figures for the admin view. */
export interface RealtimeStats {
  node: string;
  connections: number;
  channels: number;
  subscriptions: number;
  presences: number;
  delivered: number;
  messagesIn: number;
  peers: number;
}

const REPLAY_EVENT_EXCLUDED = "plaza_authz_probe";

/** Creates the realtime server; call `close()` on shutdown. */
export async function createRealtimeServer(options: RealtimeServerOptions) {
  const { db, log } = options;
  const limits: RealtimeLimits = { ...defaultLimits, ...options.limits };
  const node = crypto.randomUUID();
  const hub = createHub();
  const sockets = new Set<
    { close(code: number, reason: string): void; recheck(topic: string): Promise<void> }
  >();
  let messagesIn = 0;

  const verify = (token: string) => verifyRealtimeToken(options.jwtKey, token);
  const access = (identity: RealtimeIdentity, subTopic: string) => topicAccess(db, identity, subTopic);

  async function replay(
    identity: RealtimeIdentity,
    subTopic: string,
    since: number,
    limit: number,
  ): Promise<Broadcast[]> {
    const claims = identity.role === "authenticated" ? identity.claims : null;
    type Row = { id: string; event: string; payload: unknown };
    const run = (fn: (tx: Queryable) => Promise<Row[]>) =>
      identity.role === "service_role" ? asService(db, fn) : asUser(db, claims, fn);
    const rows = await run(async (tx) => {
      // Policies are written against realtime.topic(), as for joins.
      await tx.exec(`select set_config('realtime.topic', ${dollarQuote(subTopic)}, true)`);
      return await tx.query<Row>(
        `select id::text, event, payload from realtime.messages
         where topic = $1 and private and extension = 'broadcast' and event <> $4
           and inserted_at >= to_timestamp($2 / 1000.0)::timestamp
         order by inserted_at limit $3`,
        [subTopic, since, limit, REPLAY_EVENT_EXCLUDED],
      );
    });
    return rows.map((r) => ({
      topic: subTopic,
      private: true,
      event: r.event,
      payload: r.payload,
      meta: { replayed: true, id: r.id },
    }));
  }

  const cluster = db.kind === "postgres" ? await createCluster({ db, hub, node, log }) : null;
  const fanout = cluster ?? { broadcast() {}, presence() {} };

  // Broadcast from the database: realtime.send() stores the message and notifies its id (payloads
  // of any size, unlike NOTIFY's 8000 bytes). Every process listens and serves its own sockets.
  // Rows are read in batches, one batch at a time, and delivered in NOTIFY (commit) order: on a
  // pool, separate lookups could finish out of order.
  // Database events in NOTIFY (commit) order: message ids to deliver, and topics to authorize again
  // (a member left a room), so a subscriber who lost access gets nothing committed after that.
  const pending: ({ id: string } | { recheck: string })[] = [];
  let draining = false;
  async function drainSends() {
    if (draining) return;
    draining = true;
    try {
      while (pending.length) {
        if ("recheck" in pending[0]) {
          const { recheck } = pending.shift() as { recheck: string };
          await Promise.all([...sockets].map((conn) => conn.recheck(recheck)));
          continue;
        }
        let n = 0;
        while (n < pending.length && n < 500 && "id" in pending[n]) n++;
        const ids = pending.splice(0, n).map((e) => (e as { id: string }).id);
        try {
          const rows = await db.query<
            { id: string; topic: string; event: string; payload: unknown; private: boolean }
          >(
            `select id::text, topic, event, payload, coalesce(private, false) as private
             from realtime.messages where id = any($1::uuid[])`,
            [ids],
          );
          const byId = new Map(rows.map((r) => [r.id, r]));
          for (const id of ids) {
            const row = byId.get(id);
            if (row) {
              hub.deliver({
                topic: row.topic,
                event: row.event,
                payload: row.payload,
                private: row.private,
                meta: { id },
              });
            }
          }
        } catch (err) {
          log.error("realtime.send delivery failed", { err, count: ids.length });
        }
      }
    } finally {
      draining = false;
    }
  }
  const unlistenSend = await db.listen("plaza_realtime", (id) => {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return;
    pending.push({ id });
    drainSends();
  });

  // `pg_notify('plaza_realtime_recheck', <topic>)` from the database (a member left a room): every
  // process authorizes its subscribers of that private topic again, before delivering anything
  // committed after it.
  const unlistenRecheck = await db.listen("plaza_realtime_recheck", (topic) => {
    if (!topic || topic.length > 255) return;
    pending.push({ recheck: topic });
    drainSends();
  });

  const retentionMs = options.retentionMs ?? 3 * 24 * 3600 * 1000;
  const purge = (): Promise<unknown> =>
    db.query(
      "delete from realtime.messages where inserted_at < (now() - make_interval(secs => $1))::timestamp",
      [
        retentionMs / 1000,
      ],
    ).catch((err) => log.warn("realtime.messages purge failed", { err }));

  return {
    node,
    /** Handles `GET /realtime/v1/websocket`: checks the API key, then upgrades. */
    async upgrade(req: Request): Promise<Response> {
      const url = new URL(req.url);
      const vsnParam = url.searchParams.get("vsn") ?? "2.0.0";
      if (vsnParam !== "1.0.0" && vsnParam !== "2.0.0") {
        return Response.json({ error: "unsupported vsn: use 1.0.0 or 2.0.0" }, { status: 400 });
      }
      if ((req.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
        return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
      }
      const apikey = url.searchParams.get("apikey") ?? req.headers.get("apikey") ?? "";
      let identity: RealtimeIdentity;
      try {
        identity = await verify(apikey);
      } catch {
        return Response.json({ error: "invalid or missing apikey" }, { status: 401 });
      }
      const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
      socket.binaryType = "arraybuffer";
      const conn = serveSocket(socket, vsnParam as Vsn, identity, {
        hub,
        node,
        log,
        limits,
        verify,
        access,
        replay,
        fanout,
        onMessage: () => messagesIn++,
      });
      sockets.add(conn);
      socket.addEventListener("close", () => sockets.delete(conn));
      return response;
    },

    /** Verifies a REST caller's token (apikey header or bearer). */
    verify,
    limits,

    /**
     * Delivers messages on behalf of `identity` (REST API, server-side publisher). Private topics
     * need the insert policy, except for the service role. Throws "forbidden:<topic>" otherwise.
     */
    async broadcast(identity: RealtimeIdentity, messages: OutgoingMessage[]): Promise<void> {
      const privateTopics = new Set(messages.filter((m) => m.private).map((m) => m.topic));
      if (identity.role !== "service_role" && privateTopics.size > 10) throw new Error("too_many_topics");
      const allowed = new Map<string, boolean>();
      for (const m of messages) {
        if (!m.private || identity.role === "service_role" || allowed.has(m.topic)) continue;
        allowed.set(m.topic, (await access(identity, m.topic)).write);
      }
      const refused = messages.find((m) => m.private && allowed.get(m.topic) === false);
      if (refused) throw new Error(`forbidden:${refused.topic}`);
      for (const m of messages) {
        const msg: Broadcast = { topic: m.topic, event: m.event, payload: m.payload, private: m.private };
        hub.deliver(msg);
        fanout.broadcast(msg);
      }
    },

    /** Deletes messages past the retention (the scheduled job `realtime-purge` calls it hourly). */
    purge,

    stats(): RealtimeStats {
      return { node, connections: sockets.size, ...hub.stats(), messagesIn, peers: cluster?.peers() ?? 0 };
    },

    async close() {
      for (const s of [...sockets]) s.close(1001, "server_shutdown");
      await unlistenSend().catch(() => {});
      await unlistenRecheck().catch(() => {});
      await cluster?.close();
    },
  };
}

/** The realtime server's interface. */
export type RealtimeServer = Awaited<ReturnType<typeof createRealtimeServer>>;
