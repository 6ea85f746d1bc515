/**
 * One WebSocket speaking the Supabase Realtime protocol: heartbeats, joins (with authorization for
 * private channels), broadcast with self and ack, presence, access-token refresh and expiry,
 * limits. Every bad input gets an error reply or a close with a reason; nothing here throws into
 * the server.
 */
import type { TopicAccess } from "./authz.ts";
import {
  decodeBinary,
  decodeText,
  encodeText,
  type Frame,
  FrameError,
  peekBinaryRefs,
  type Vsn,
} from "./frames.ts";
import type { Broadcast, Peer, Subscription } from "./hub.ts";
import type { ConnectionDeps } from "./limits.ts";
import type { RealtimeIdentity } from "./tokens.ts";

export { type ConnectionDeps, defaultLimits, type RealtimeLimits } from "./limits.ts";

interface ChannelState {
  sub: Subscription;
  expiry?: ReturnType<typeof setTimeout>;
  /** The token the channel was last authorized with. */
  token?: string;
  authGeneration: number;
}

const encoder = new TextEncoder();

const now = () => Date.now();

/** Serves one socket until it closes. */
export function serveSocket(
  socket: WebSocket,
  vsn: Vsn,
  socketIdentity: RealtimeIdentity,
  deps: ConnectionDeps,
) {
  const { hub, limits, log } = deps;
  const channels = new Map<string, ChannelState>();
  const joins: number[] = [];
  let lastSeen = now();
  let windowStart = now();
  let windowCount = 0;
  let badFrames = 0;
  let closed = false;

  let sends = 0;
  const peer: Peer = {
    id: crypto.randomUUID(),
    vsn,
    send(data) {
      if (closed) return;
      // A client that does not read its socket does not get to grow our memory without bound
      // (checked every 64 sends: reading bufferedAmount is a call into the runtime).
      if ((++sends & 63) === 0 && socket.bufferedAmount > 16 * 1024 * 1024) {
        return close(1013, "slow_consumer");
      }
      try {
        socket.send(data);
      } catch {
        close(1011, "send_failed");
      }
    },
  };

  const sendFrame = (f: Frame) => peer.send(encodeText(vsn, f));

  /** Counts a join (or re-authorization) against the 10-second budget; false when it is spent. */
  function chargeJoin(): boolean {
    const t = now();
    while (joins.length && t - joins[0] > 10_000) joins.shift();
    if (joins.length >= limits.maxJoinsPer10s) return false;
    joins.push(t);
    return true;
  }
  const reply = (
    f: { join_ref: string | null; ref: string | null; topic: string },
    status: "ok" | "error",
    response = {},
  ) =>
    sendFrame({
      join_ref: f.join_ref,
      ref: f.ref,
      topic: f.topic,
      event: "phx_reply",
      payload: { status, response },
    });
  const fail = (f: { join_ref: string | null; ref: string | null; topic: string }, reason: string) =>
    reply(f, "error", { reason });

  function system(sub: Subscription, status: "ok" | "error", message: string) {
    sendFrame({
      join_ref: sub.joinRef,
      ref: null,
      topic: sub.topic,
      event: "system",
      payload: { status, message, extension: "system", channel: sub.subTopic },
    });
  }

  /** Removes the channel of `topic`; with `only`, only when that subscription is still the current one. */
  function leave(topic: string, only?: Subscription) {
    const state = channels.get(topic);
    if (!state || (only && state.sub !== only)) return;
    channels.delete(topic);
    clearTimeout(state.expiry);
    const left = hub.remove(state.sub);
    if (left) deps.fanout.presence(left.topic, left.private, {}, left.leaves);
  }

  /** Ends a channel for good: a system error, then phx_close (the client does not rejoin). */
  function evict(sub: Subscription, message: string) {
    system(sub, "error", message);
    sendFrame({ join_ref: sub.joinRef, ref: sub.joinRef, topic: sub.topic, event: "phx_close", payload: {} });
    leave(sub.topic, sub);
  }

  function armExpiry(state: ChannelState) {
    clearTimeout(state.expiry);
    const ms = state.sub.identity.exp * 1000 - now();
    // Timers take at most ~24.8 days: longer expiries are re-armed in steps.
    const step = Math.min(Math.max(0, ms), 2 ** 31 - 1);
    state.expiry = setTimeout(() => {
      if (channels.get(state.sub.topic) !== state) return;
      if (state.sub.identity.exp * 1000 <= now()) evict(state.sub, "Token has expired");
      else armExpiry(state);
    }, step);
  }

  function close(code: number, reason: string) {
    if (closed) return;
    closed = true;
    for (const topic of [...channels.keys()]) leave(topic);
    clearInterval(idleTimer);
    try {
      socket.close(code, reason);
    } catch { /* already closing */ }
  }

  const idleTimer = setInterval(() => {
    if (now() - lastSeen > limits.idleTimeoutMs) close(1000, "heartbeat_timeout");
  }, Math.min(15_000, limits.idleTimeoutMs / 2));

  async function tokenIdentity(token: unknown): Promise<RealtimeIdentity | string> {
    if (token === undefined || token === null || token === "") return socketIdentity;
    if (typeof token !== "string" || token.length > 8192) {
      return "InvalidJWTToken: access_token must be a string";
    }
    try {
      return await deps.verify(token);
    } catch (err) {
      const reason = (err as { reason?: string }).reason;
      return reason === "expired"
        ? "InvalidJWTToken: Token has expired"
        : "InvalidJWTToken: the token is invalid";
    }
  }

  /** The newest join or leave per topic: an older one still awaiting the database gives way. */
  const latest = new Map<string, number>();
  let generation = 0;

  async function join(f: Frame) {
    const gen = ++generation;
    latest.set(f.topic, gen);
    try {
      await joinChecked(f, gen);
    } catch (err) {
      log.error("realtime join failed", { err, topic: f.topic });
      if (latest.get(f.topic) === gen) fail(f, "InternalError: the join could not be completed, try again");
    }
  }

  async function joinChecked(f: Frame, gen: number) {
    const current = () => !closed && latest.get(f.topic) === gen;
    const config = (f.payload.config ?? {}) as Record<string, unknown>;
    const broadcast = (config.broadcast ?? {}) as Record<string, unknown>;
    const presence = (config.presence ?? {}) as Record<string, unknown>;
    const rejoin = channels.has(f.topic);
    if (
      !f.topic.startsWith("realtime:") || f.topic.length === "realtime:".length ||
      encoder.encode(f.topic).length > 255
    ) {
      return fail(f, "InvalidTopic: topics are realtime:<name>, at most 255 bytes");
    }
    if (Array.isArray(config.postgres_changes) && config.postgres_changes.length > 0) {
      return fail(
        f,
        "postgres_changes is not supported: Plaza sends database events as broadcasts (realtime.send from a trigger); listen with on('broadcast', …)",
      );
    }
    if (!rejoin && channels.size >= limits.maxChannelsPerSocket) return fail(f, "too_many_channels");
    if (!chargeJoin()) return fail(f, "too_many_joins");

    const identity = await tokenIdentity(f.payload.access_token);
    if (!current()) return;
    if (typeof identity === "string") return fail(f, identity);
    if (identity.exp * 1000 <= now()) return fail(f, "InvalidJWTToken: Token has expired");
    const isPrivate = config.private === true;
    const subTopic = f.topic.slice("realtime:".length);
    let access: TopicAccess = { read: true, write: true };
    if (isPrivate) {
      access = await deps.access(identity, subTopic);
      if (!current()) return;
      if (!access.read) {
        return fail(
          f,
          `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
        );
      }
    }
    if (!current()) return;
    if (!channels.has(f.topic) && channels.size >= limits.maxChannelsPerSocket) {
      return fail(f, "too_many_channels");
    }
    leave(f.topic); // a rejoin replaces the old subscription
    const key = typeof presence.key === "string" && presence.key ? presence.key : crypto.randomUUID();
    const sub: Subscription = {
      peer,
      topic: f.topic,
      subTopic,
      joinRef: f.join_ref ?? f.ref ?? "",
      private: isPrivate,
      self: broadcast.self === true,
      ack: broadcast.ack === true,
      presenceEnabled: presence.enabled === true,
      presenceKey: key.slice(0, 255),
      identity,
      canWrite: access.write,
    };
    const state: ChannelState = {
      sub,
      authGeneration: 0,
      token: typeof f.payload.access_token === "string" ? f.payload.access_token : undefined,
    };
    channels.set(f.topic, state);
    hub.add(sub);
    armExpiry(state);
    reply(f, "ok", {});
    if (sub.presenceEnabled) {
      sendFrame({
        join_ref: sub.joinRef,
        ref: null,
        topic: f.topic,
        event: "presence_state",
        payload: hub.presenceState(subTopic, isPrivate),
      });
    }
    const replay = broadcast.replay as { since?: unknown; limit?: unknown } | undefined;
    if (replay && typeof replay === "object") {
      if (!isPrivate) return system(sub, "error", "Replay is only available on private channels");
      const since = Number(replay.since);
      const limit = Math.min(Math.max(1, Number(replay.limit ?? limits.maxReplay) || 1), limits.maxReplay);
      if (!Number.isFinite(since)) {
        return system(sub, "error", "replay.since must be a timestamp in milliseconds");
      }
      let rows: Broadcast[];
      try {
        rows = await deps.replay(identity, subTopic, since, limit);
      } catch (err) {
        log.error("realtime replay failed", { err, topic: subTopic });
        return system(sub, "error", "Replay failed; live messages continue");
      }
      for (const msg of rows) {
        if (channels.get(f.topic)?.sub !== sub) break;
        hub.sendFrame(sub, {
          join_ref: null,
          ref: null,
          topic: sub.topic,
          event: "broadcast",
          payload: { type: "broadcast", event: msg.event, payload: msg.payload, meta: msg.meta },
        });
      }
    }
  }

  function onBroadcast(
    state: ChannelState,
    f: { join_ref: string | null; ref: string | null; topic: string },
    event: unknown,
    payload: unknown,
    size: number,
  ) {
    const { sub } = state;
    if (typeof event !== "string" || !event || event.length > 255) {
      return fail(f, "broadcast needs an event name");
    }
    if (size > limits.maxPayloadBytes) return fail(f, "payload_too_large");
    if (sub.private && !sub.canWrite) {
      return fail(
        f,
        `Unauthorized: You do not have permissions to write to this Channel topic: ${sub.subTopic}`,
      );
    }
    const msg: Broadcast = { topic: sub.subTopic, private: sub.private, event, payload };
    hub.deliver(msg, sub.self ? undefined : sub);
    deps.fanout.broadcast(msg);
    if (sub.ack) reply(f, "ok", {});
  }

  async function onAccessToken(state: ChannelState, token: unknown) {
    const { sub } = state;
    if (typeof token === "string" && token === state.token) return; // unchanged: nothing to check
    if (!chargeJoin()) return; // re-authorization is charged like a join
    const gen = ++state.authGeneration;
    const stillCurrent = () => !closed && channels.get(sub.topic) === state && state.authGeneration === gen;
    const identity = await tokenIdentity(token);
    if (!stillCurrent()) return;
    if (typeof identity === "string") return evict(sub, identity.replace(/^InvalidJWTToken: /, ""));
    if (identity.exp * 1000 <= now()) return evict(sub, "Token has expired");
    if (sub.private) {
      let access: TopicAccess;
      try {
        access = await deps.access(identity, sub.subTopic);
      } catch (err) {
        log.error("realtime re-authorization failed", { err, topic: sub.subTopic });
        return;
      }
      if (!stillCurrent()) return;
      if (!access.read) return evict(sub, "You no longer have permission to read from this channel");
      sub.canWrite = access.write;
    }
    sub.identity = identity;
    state.token = typeof token === "string" ? token : undefined;
    armExpiry(state);
  }

  async function handle(f: Frame, size: number) {
    if (f.topic === "phoenix") {
      if (f.event === "heartbeat") return reply(f, "ok", {});
      return fail(f, "unknown event");
    }
    if (f.event === "phx_join") return await join(f);
    if (f.event === "phx_leave" && !channels.has(f.topic) && latest.has(f.topic)) {
      // A leave for a join still being authorized (the client gave up waiting): that join is void.
      latest.set(f.topic, ++generation);
      return reply(f, "ok", {});
    }
    const state = channels.get(f.topic);
    if (!state || (f.join_ref !== null && f.join_ref !== state.sub.joinRef)) {
      return fail(f, "unmatched topic");
    }
    switch (f.event) {
      case "phx_leave":
        leave(f.topic);
        return reply(f, "ok", {});
      case "broadcast":
        return onBroadcast(state, f, f.payload.event, f.payload.payload, size);
      case "presence": {
        const sub = state.sub;
        if (sub.private && !sub.canWrite) {
          return fail(f, "Unauthorized: You do not have permissions to track presence on this channel");
        }
        if (f.payload.event === "track") {
          const meta = f.payload.payload;
          if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
            return fail(f, "Presence track payload must be a map");
          }
          if (JSON.stringify(meta).length > limits.maxPresenceBytes) return fail(f, "payload_too_large");
          // Who tracks is stamped by the server: a member cannot appear as someone else.
          const stamped = sub.identity.claims?.sub ? { ...meta, user_id: sub.identity.claims.sub } : meta;
          const diff = hub.track(sub, stamped as Record<string, unknown>, deps.node);
          deps.fanout.presence(sub.subTopic, sub.private, diff.joins, diff.leaves);
          return reply(f, "ok", {});
        }
        if (f.payload.event === "untrack") {
          const leaves = hub.untrack(sub);
          if (leaves) deps.fanout.presence(sub.subTopic, sub.private, {}, leaves);
          return reply(f, "ok", {});
        }
        return fail(f, "presence events are track and untrack");
      }
      case "access_token":
        return await onAccessToken(state, f.payload.access_token);
      default:
        return fail(f, "unknown event");
    }
  }

  /** Counts a message; false when the socket must stop being served. */
  function withinRate(): boolean {
    const t = now();
    if (t - windowStart >= 1000) {
      windowStart = t;
      windowCount = 0;
    }
    windowCount++;
    if (windowCount > limits.maxMessagesPerSecond * 2) {
      close(1008, "too_many_messages");
      return false;
    }
    return true;
  }

  socket.onmessage = async (event: MessageEvent) => {
    if (closed) return;
    lastSeen = now();
    deps.onMessage();
    if (!withinRate()) return;
    try {
      if (typeof event.data === "string") {
        const data = event.data;
        if (data.length > limits.maxPayloadBytes + 4096) {
          const head =
            /^\[\s*("(?:[^"\\]{0,255})"|null)\s*,\s*("(?:[^"\\]{0,255})"|null)\s*,\s*"([^"\\]{1,255})"/.exec(
              data.slice(0, 1024),
            );
          if (head) {
            const str = (s: string) => s === "null" ? null : s.slice(1, -1);
            fail({ join_ref: str(head[1]), ref: str(head[2]), topic: head[3] }, "payload_too_large");
          }
          return;
        }
        const f = decodeText(data, vsn);
        if (windowCount > limits.maxMessagesPerSecond && f.event !== "heartbeat") {
          return fail(f, "too_many_messages");
        }
        await handle(f, data.length);
      } else {
        if (vsn !== "2.0.0") throw new FrameError("binary frames need vsn 2.0.0");
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        if (bytes.length > limits.maxPayloadBytes + 1024) {
          const head = peekBinaryRefs(bytes);
          if (head) fail(head, "payload_too_large");
          return;
        }
        const push = decodeBinary(bytes);
        if (windowCount > limits.maxMessagesPerSecond) return fail(push, "too_many_messages");
        const state = channels.get(push.topic);
        if (!state || (push.join_ref !== null && push.join_ref !== state.sub.joinRef)) {
          return fail(push, "unmatched topic");
        }
        onBroadcast(state, push, push.event, push.payload, bytes.length);
      }
    } catch (err) {
      if (err instanceof FrameError) {
        badFrames++;
        log.info("realtime frame refused", { reason: err.message, peer: peer.id });
        if (badFrames >= 20) close(1003, "too_many_bad_frames");
        return;
      }
      log.error("realtime handler failed", { err, peer: peer.id });
    }
  };
  socket.onclose = () => close(1000, "closed");
  socket.onerror = () => close(1011, "error");
  /**
   * Authorizes this socket's private channels on `subTopic` again (someone lost access, e.g. was
   * removed from a room) and ends those that may no longer read. A token check that starts
   * meanwhile wins: its result is newer.
   */
  async function recheck(subTopic: string) {
    for (const state of [...channels.values()]) {
      const { sub } = state;
      if (!sub.private || sub.subTopic !== subTopic) continue;
      const gen = state.authGeneration;
      let access: TopicAccess;
      try {
        access = await deps.access(sub.identity, subTopic);
      } catch (err) {
        log.error("realtime re-authorization failed", { err, topic: subTopic });
        continue;
      }
      if (closed || channels.get(sub.topic) !== state || state.authGeneration !== gen) continue;
      if (!access.read) evict(sub, "You no longer have permission to read from this channel");
      else sub.canWrite = access.write;
    }
  }

  return { peer, close, recheck, channels: () => channels.size };
}
