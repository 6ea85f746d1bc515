/** Per-socket limits of the realtime server, and what a connection needs from the server around it. */
import type { Logger } from "../log.ts";
import type { TopicAccess } from "./authz.ts";
import type { Broadcast, Hub, PresenceMap } from "./hub.ts";
import type { RealtimeIdentity } from "./tokens.ts";

/** Limits per socket; the defaults follow Supabase's. */
export interface RealtimeLimits {
  maxChannelsPerSocket: number;
  maxPayloadBytes: number;
  /** Joins allowed per socket in any 10 s. */
  maxJoinsPer10s: number;
  /** Messages allowed per socket per second; twice that closes the socket. */
  maxMessagesPerSecond: number;
  /** A socket silent for longer is closed. */
  idleTimeoutMs: number;
  /** Replay returns at most this many messages. */
  maxReplay: number;
  /** Largest presence meta (JSON characters): every joiner receives all of them. */
  maxPresenceBytes: number;
}

/** Default limits. */
export const defaultLimits: RealtimeLimits = {
  maxChannelsPerSocket: 100,
  maxPayloadBytes: 256 * 1024,
  maxJoinsPer10s: 100,
  maxMessagesPerSecond: 100,
  idleTimeoutMs: 60_000,
  maxReplay: 25,
  maxPresenceBytes: 4096,
};

/** What a connection needs from the server around it. */
export interface ConnectionDeps {
  hub: Hub;
  node: string;
  log: Logger;
  limits: RealtimeLimits;
  verify(token: string): Promise<RealtimeIdentity>;
  access(identity: RealtimeIdentity, subTopic: string): Promise<TopicAccess>;
  replay(identity: RealtimeIdentity, subTopic: string, since: number, limit: number): Promise<Broadcast[]>;
  /** Sends to other server processes (scale-out); a no-op with one process. */
  fanout: {
    broadcast(msg: Broadcast): void;
    presence(topic: string, isPrivate: boolean, joins: PresenceMap, leaves: PresenceMap): void;
  };
  onMessage(): void;
}
