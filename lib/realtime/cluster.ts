/**
 * Scale-out between Plaza processes on one Postgres: client broadcasts and presence changes made on
 * one process reach the sockets of the others through LISTEN/NOTIFY on `plaza_fanout`. Messages
 * over NOTIFY's size limit travel through an unlogged table and are referenced by id. Each process
 * announces itself every 5 s; a process not heard from for 15 s is gone, and its presences leave.
 */
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import type { Broadcast, Hub, PresenceMap } from "./hub.ts";

const CHANNEL = "plaza_fanout";
const NOTIFY_LIMIT = 7900;
const HEARTBEAT_MS = 5_000;
const NODE_TIMEOUT_MS = 15_000;

type Wire =
  | { n: string; k: "b"; t: string; p: boolean; e: string; d?: unknown; b64?: string }
  | { n: string; k: "pd"; t: string; p: boolean; j: PresenceMap; l: PresenceMap }
  | { n: string; k: "hb" }
  | { n: string; k: "rq"; to: string }
  | { n: string; k: "ps"; to: string; list: { t: string; p: boolean; j: PresenceMap }[] };

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Starts the bus for this process. */
export async function createCluster({ db, hub, node, log }: { db: Db; hub: Hub; node: string; log: Logger }) {
  const nodes = new Map<string, number>();
  let closed = false;

  // Sends go out one at a time, in order: a big message (through the table) must not be
  // overtaken by a small one sent after it.
  let sending: Promise<void> = Promise.resolve();
  const byteLength = (text: string) => new TextEncoder().encode(text).length;
  function send(msg: Wire): Promise<void> {
    if (closed) return sending;
    const json = JSON.stringify(msg);
    sending = sending.then(async () => {
      try {
        if (byteLength(json) <= NOTIFY_LIMIT) return await db.notify(CHANNEL, json);
        const [row] = await db.query<{ id: string }>(
          "insert into plaza.realtime_fanout (body) values ($1) returning id::text",
          [json],
        );
        await db.notify(CHANNEL, `#${row.id}`);
      } catch (err) {
        log.warn("realtime fan-out failed", { err });
      }
    });
    return sending;
  }

  const snapshot = (to: string): Wire => ({
    n: node,
    k: "ps",
    to,
    list: hub.localPresence(node).map((x) => ({ t: x.topic, p: x.private, j: x.joins })),
  });

  function seen(from: string) {
    const known = nodes.has(from);
    nodes.set(from, Date.now());
    // A process we have not seen (or had given up on) gets our presences and is asked for its own,
    // so both sides recover after a one-sided timeout.
    if (!known) {
      send(snapshot(from));
      send({ n: node, k: "rq", to: from });
    }
  }

  function receive(msg: Wire) {
    if (msg.n === node) return;
    seen(msg.n);
    switch (msg.k) {
      case "b": {
        const payload = msg.b64 !== undefined
          ? Uint8Array.from(atob(msg.b64), (c) => c.charCodeAt(0))
          : msg.d;
        hub.deliver({ topic: msg.t, private: msg.p, event: msg.e, payload });
        break;
      }
      case "pd":
        hub.applyRemoteDiff(msg.t, msg.p, msg.n, msg.j, msg.l);
        break;
      case "ps":
        if (msg.to === node) { for (const x of msg.list) hub.applyRemoteDiff(x.t, x.p, msg.n, x.j, {}); }
        break;
      case "rq":
        if (msg.to === node) send(snapshot(msg.n));
        break;
    }
  }

  // Incoming messages are applied one at a time, in arrival order (a table read must not let the
  // next message overtake it).
  let receiving: Promise<void> = Promise.resolve();
  const unlisten = await db.listen(CHANNEL, (payload) => {
    receiving = receiving.then(async () => {
      try {
        if (payload.startsWith("#")) {
          const [row] = await db.query<{ body: string }>(
            "select body from plaza.realtime_fanout where id = $1::bigint",
            [
              payload.slice(1),
            ],
          );
          if (row) receive(JSON.parse(row.body));
        } else {
          receive(JSON.parse(payload));
        }
      } catch (err) {
        log.warn("realtime fan-out message unreadable", { err });
      }
    });
  });

  const timer = setInterval(() => {
    send({ n: node, k: "hb" });
    const cutoff = Date.now() - NODE_TIMEOUT_MS;
    for (const [n, at] of nodes) {
      if (at >= cutoff) continue;
      nodes.delete(n);
      log.info("realtime peer gone; dropping its presences", { peer: n });
      hub.dropNode(n);
    }
    db.query("delete from plaza.realtime_fanout where created_at < now() - interval '1 minute'").catch(
      () => {},
    );
  }, HEARTBEAT_MS);
  Deno.unrefTimer(timer);
  await send({ n: node, k: "hb" });

  return {
    broadcast(msg: Broadcast) {
      const base = { n: node, k: "b" as const, t: msg.topic, p: msg.private, e: msg.event };
      send(
        msg.payload instanceof Uint8Array
          ? { ...base, b64: toBase64(msg.payload) }
          : { ...base, d: msg.payload },
      );
    },
    presence(topic: string, isPrivate: boolean, joins: PresenceMap, leaves: PresenceMap) {
      send({ n: node, k: "pd", t: topic, p: isPrivate, j: joins, l: leaves });
    },
    peers: () => nodes.size,
    async close() {
      closed = true;
      clearInterval(timer);
      await unlisten().catch(() => {});
    },
  };
}
