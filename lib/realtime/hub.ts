/**
 * The in-process registry of channel subscriptions and presence. A topic is keyed together with
 * its privacy: a private channel and a public channel of the same name are different channels, as
 * on Supabase. Messages are encoded once per message and wire format, then sent to every socket.
 */
import { encodeBinaryBroadcast, encodeText, type Frame, type Vsn } from "./frames.ts";
import type { RealtimeIdentity } from "./tokens.ts";

/** The socket side a subscription belongs to. */
export interface Peer {
  readonly id: string;
  readonly vsn: Vsn;
  send(data: string | Uint8Array): void;
}

/** One joined channel on one socket. */
export interface Subscription {
  peer: Peer;
  /** Wire topic, `realtime:<name>`. */
  topic: string;
  /** Topic without the prefix, as `realtime.topic()` sees it. */
  subTopic: string;
  joinRef: string;
  private: boolean;
  self: boolean;
  ack: boolean;
  presenceEnabled: boolean;
  presenceKey: string;
  identity: RealtimeIdentity;
  canWrite: boolean;
  /** This subscription's tracked presence, if any. */
  presenceRef?: string;
}

/** A broadcast to deliver. `payload` bytes travel as binary to vsn 2.0.0 clients. */
export interface Broadcast {
  topic: string;
  private: boolean;
  event: string;
  payload: unknown;
  meta?: Record<string, unknown> | null;
}

/** Presence metas by key, as in `presence_state` and `presence_diff`. */
export type PresenceMap = Record<string, { metas: Record<string, unknown>[] }>;

/** Key of a channel in the registry. */
export const channelKey = (topic: string, isPrivate: boolean) => `${isPrivate ? "p" : "o"}|${topic}`;

interface PresenceEntry {
  key: string;
  meta: Record<string, unknown>;
  /** Local subscription that tracked it, or null for one tracked on another process. */
  owner: Subscription | null;
  node: string;
}

/** Counters for the admin view. */
export interface HubStats {
  channels: number;
  subscriptions: number;
  delivered: number;
  presences: number;
}

/** Creates a hub. */
export function createHub() {
  const channels = new Map<string, Set<Subscription>>();
  const presence = new Map<string, Map<string, PresenceEntry>>(); // channel key -> phx_ref -> entry
  let delivered = 0;

  function encodedFor(msg: Broadcast) {
    const wire = `realtime:${msg.topic}`;
    const isBytes = msg.payload instanceof Uint8Array;
    const body: Record<string, unknown> = { type: "broadcast", event: msg.event, payload: msg.payload };
    if (msg.meta) body.meta = msg.meta;
    const cache: Partial<Record<"v1" | "v2" | "bin", string | Uint8Array>> = {};
    return (vsn: Vsn): string | Uint8Array | null => {
      if (vsn === "1.0.0") {
        if (isBytes) return null; // a vsn 1.0.0 client cannot receive binary payloads
        return cache.v1 ??= encodeText("1.0.0", {
          join_ref: null,
          ref: null,
          topic: wire,
          event: "broadcast",
          payload: body,
        });
      }
      if (isBytes) return cache.bin ??= encodeBinaryBroadcast(wire, msg.event, msg.payload, msg.meta ?? null);
      return cache.v2 ??= encodeText("2.0.0", {
        join_ref: null,
        ref: null,
        topic: wire,
        event: "broadcast",
        payload: body,
      });
    };
  }

  function sendFrame(sub: Subscription, frame: Frame) {
    sub.peer.send(encodeText(sub.peer.vsn, frame));
  }

  function presenceOf(ck: string): PresenceMap {
    const out: PresenceMap = {};
    for (const [ref, e] of presence.get(ck) ?? []) {
      (out[e.key] ??= { metas: [] }).metas.push({ ...e.meta, phx_ref: ref });
    }
    return out;
  }

  function sendDiff(ck: string, joins: PresenceMap, leaves: PresenceMap) {
    for (const sub of channels.get(ck) ?? []) {
      if (!sub.presenceEnabled) continue;
      sendFrame(sub, {
        join_ref: sub.joinRef,
        ref: null,
        topic: sub.topic,
        event: "presence_diff",
        payload: { joins, leaves },
      });
    }
  }

  const single = (key: string, ref: string, meta: Record<string, unknown>): PresenceMap => ({
    [key]: { metas: [{ ...meta, phx_ref: ref }] },
  });

  return {
    add(sub: Subscription) {
      const ck = channelKey(sub.subTopic, sub.private);
      let set = channels.get(ck);
      if (!set) channels.set(ck, set = new Set());
      set.add(sub);
    },
    /** Removes a subscription and its presence (sending the leave); returns the leave for other nodes. */
    remove(sub: Subscription): { topic: string; private: boolean; leaves: PresenceMap } | null {
      const ck = channelKey(sub.subTopic, sub.private);
      const set = channels.get(ck);
      set?.delete(sub);
      if (set && set.size === 0) channels.delete(ck);
      if (!sub.presenceRef) return null;
      const leaves = this.untrack(sub);
      return leaves ? { topic: sub.subTopic, private: sub.private, leaves } : null;
    },
    /** Delivers to local subscribers of the message's channel; `except` skips the sender (self: false). */
    deliver(msg: Broadcast, except?: Subscription): number {
      const set = channels.get(channelKey(msg.topic, msg.private));
      if (!set) return 0;
      const encode = encodedFor(msg);
      let n = 0;
      for (const sub of set) {
        if (sub === except) continue;
        const data = encode(sub.peer.vsn);
        if (data === null) continue;
        sub.peer.send(data);
        n++;
      }
      delivered += n;
      return n;
    },
    sendFrame,
    /** The presence state of a channel. */
    presenceState: (topic: string, isPrivate: boolean) => presenceOf(channelKey(topic, isPrivate)),
    /** Tracks (or re-tracks) a local subscription's presence; returns the diff for other nodes. */
    track(
      sub: Subscription,
      meta: Record<string, unknown>,
      node: string,
    ): { joins: PresenceMap; leaves: PresenceMap } {
      const ck = channelKey(sub.subTopic, sub.private);
      let map = presence.get(ck);
      if (!map) presence.set(ck, map = new Map());
      let leaves: PresenceMap = {};
      if (sub.presenceRef) {
        const old = map.get(sub.presenceRef);
        map.delete(sub.presenceRef);
        if (old) leaves = single(old.key, sub.presenceRef, old.meta);
      }
      const ref = crypto.randomUUID();
      sub.presenceRef = ref;
      map.set(ref, { key: sub.presenceKey, meta, owner: sub, node });
      const joins = single(sub.presenceKey, ref, meta);
      sendDiff(ck, joins, leaves);
      return { joins, leaves };
    },
    /** Untracks a local subscription; returns the leaves (or null when nothing was tracked). */
    untrack(sub: Subscription): PresenceMap | null {
      if (!sub.presenceRef) return null;
      const ck = channelKey(sub.subTopic, sub.private);
      const map = presence.get(ck);
      const entry = map?.get(sub.presenceRef);
      map?.delete(sub.presenceRef);
      if (map && map.size === 0) presence.delete(ck);
      const ref = sub.presenceRef;
      sub.presenceRef = undefined;
      if (!entry) return null;
      const leaves = single(entry.key, ref, entry.meta);
      sendDiff(ck, {}, leaves);
      return leaves;
    },
    /** Applies a presence diff that happened on another node. */
    applyRemoteDiff(
      topic: string,
      isPrivate: boolean,
      node: string,
      joins: PresenceMap,
      leaves: PresenceMap,
    ) {
      const ck = channelKey(topic, isPrivate);
      let map = presence.get(ck);
      if (!map) presence.set(ck, map = new Map());
      for (const [key, { metas }] of Object.entries(leaves)) {
        for (const m of metas) if (typeof m.phx_ref === "string") map.delete(m.phx_ref);
        void key;
      }
      for (const [key, { metas }] of Object.entries(joins)) {
        for (const { phx_ref, ...meta } of metas) {
          if (typeof phx_ref === "string") map.set(phx_ref, { key, meta, owner: null, node });
        }
      }
      if (map.size === 0) presence.delete(ck);
      sendDiff(ck, joins, leaves);
    },
    /** Local presences, by channel, for a node that asks for them. */
    localPresence(node: string): { topic: string; private: boolean; joins: PresenceMap }[] {
      const out: { topic: string; private: boolean; joins: PresenceMap }[] = [];
      for (const [ck, map] of presence) {
        const joins: PresenceMap = {};
        for (const [ref, e] of map) {
          if (e.node === node) (joins[e.key] ??= { metas: [] }).metas.push({ ...e.meta, phx_ref: ref });
        }
        if (Object.keys(joins).length) out.push({ topic: ck.slice(2), private: ck.startsWith("p|"), joins });
      }
      return out;
    },
    /** Drops every presence of a node that went away, sending the leaves. */
    dropNode(node: string) {
      for (const [ck, map] of presence) {
        const leaves: PresenceMap = {};
        for (const [ref, e] of map) {
          if (e.node !== node) continue;
          map.delete(ref);
          (leaves[e.key] ??= { metas: [] }).metas.push({ ...e.meta, phx_ref: ref });
        }
        if (map.size === 0) presence.delete(ck);
        if (Object.keys(leaves).length) sendDiff(ck, {}, leaves);
      }
    },
    stats(): HubStats {
      let subscriptions = 0;
      for (const set of channels.values()) subscriptions += set.size;
      let presences = 0;
      for (const map of presence.values()) presences += map.size;
      return { channels: channels.size, subscriptions, delivered, presences };
    },
  };
}

/** The hub's interface. */
export type Hub = ReturnType<typeof createHub>;
