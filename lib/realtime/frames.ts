/**
 * The Supabase Realtime (Phoenix) wire format: text frames as JSON arrays (vsn 2.0.0) or objects
 * (vsn 1.0.0), the binary user-broadcast push a vsn 2.0.0 client sends (kind 3) and the binary
 * user broadcast the server sends back (kind 4). See docs/realtime.md for the layouts.
 */

/** Serializer versions supabase-js speaks. */
export type Vsn = "1.0.0" | "2.0.0";

/** A decoded frame. `binary` is set for kind-3 pushes (the user payload kept as bytes or JSON). */
export interface Frame {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

/** A frame the server cannot read; answered with an error or a close, never a crash. */
export class FrameError extends Error {
  override name = "FrameError";
}

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const ENCODING_BINARY = 0;
const ENCODING_JSON = 1;

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

const refOf = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" && v.length <= 255) return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw new FrameError("ref and join_ref must be strings");
};

function checkFrame(
  join_ref: unknown,
  ref: unknown,
  topic: unknown,
  event: unknown,
  payload: unknown,
): Frame {
  // Joins check the protocol's 255-byte topic limit and answer with a reason; here only absurd
  // lengths are refused outright.
  if (typeof topic !== "string" || topic.length === 0 || topic.length > 1024) {
    throw new FrameError("topic must be a string of 1 to 1024 characters");
  }
  if (typeof event !== "string" || event.length === 0 || event.length > 255) {
    throw new FrameError("event must be a string of 1 to 255 characters");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new FrameError("payload must be a JSON object");
  }
  return {
    join_ref: refOf(join_ref),
    ref: refOf(ref),
    topic,
    event,
    payload: payload as Record<string, unknown>,
  };
}

/** Decodes a text frame of the given serializer version. */
export function decodeText(text: string, vsn: Vsn): Frame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameError("frame is not valid JSON");
  }
  if (vsn === "2.0.0") {
    if (!Array.isArray(value) || value.length !== 5) {
      throw new FrameError("a vsn 2.0.0 frame is [join_ref, ref, topic, event, payload]");
    }
    return checkFrame(value[0], value[1], value[2], value[3], value[4]);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FrameError("a vsn 1.0.0 frame is {join_ref, ref, topic, event, payload}");
  }
  const o = value as Record<string, unknown>;
  return checkFrame(o.join_ref, o.ref, o.topic, o.event, o.payload);
}

/** A decoded kind-3 user broadcast push. */
export interface BroadcastPush {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  /** Metadata keys the client may set (today only `persist`). */
  meta: Record<string, unknown> | null;
  /** JSON payloads are parsed; binary ones stay bytes. */
  payload: unknown;
  binary: boolean;
}

/** Decodes a binary frame from a vsn 2.0.0 client (only kind 3 exists). */
export function decodeBinary(bytes: Uint8Array): BroadcastPush {
  if (bytes.length < 7) throw new FrameError("binary frame too short");
  if (bytes[0] !== KIND_USER_BROADCAST_PUSH) throw new FrameError(`unknown binary frame kind ${bytes[0]}`);
  const [jl, rl, tl, el, ml, encoding] = bytes.subarray(1, 7);
  if (encoding !== ENCODING_BINARY && encoding !== ENCODING_JSON) {
    throw new FrameError(`unknown payload encoding ${encoding}`);
  }
  let off = 7;
  const take = (n: number) => {
    if (off + n > bytes.length) throw new FrameError("binary frame shorter than its header says");
    const part = bytes.subarray(off, off + n);
    off += n;
    return part;
  };
  const text = (n: number) => {
    try {
      return decoder.decode(take(n));
    } catch (err) {
      if (err instanceof FrameError) throw err;
      throw new FrameError("binary frame header is not UTF-8");
    }
  };
  const join_ref = text(jl) || null;
  const ref = text(rl) || null;
  const topic = text(tl);
  const event = text(el);
  const metaText = text(ml);
  if (!topic || !event) throw new FrameError("binary frame without topic or event");
  let meta: Record<string, unknown> | null = null;
  if (metaText) {
    try {
      const parsed = JSON.parse(metaText);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
      meta = parsed;
    } catch {
      throw new FrameError("binary frame metadata is not a JSON object");
    }
  }
  const rest = bytes.subarray(off);
  let payload: unknown = rest.slice();
  if (encoding === ENCODING_JSON) {
    try {
      payload = JSON.parse(decoder.decode(rest));
    } catch {
      throw new FrameError("binary frame payload is not JSON");
    }
  }
  return { join_ref, ref, topic, event, meta, payload, binary: encoding === ENCODING_BINARY };
}

/** Encodes a text frame for a client of version `vsn`. */
export function encodeText(vsn: Vsn, f: Frame): string {
  return vsn === "2.0.0" ? JSON.stringify([f.join_ref, f.ref, f.topic, f.event, f.payload]) : JSON.stringify({
    join_ref: f.join_ref,
    ref: f.ref,
    topic: f.topic,
    event: f.event,
    payload: f.payload,
  });
}

/** Encodes a kind-4 user broadcast (vsn 2.0.0 only). `payload` bytes are sent raw, anything else as JSON. */
export function encodeBinaryBroadcast(
  topic: string,
  event: string,
  payload: unknown,
  meta: Record<string, unknown> | null,
): Uint8Array {
  const t = encoder.encode(topic);
  const e = encoder.encode(event);
  const m = meta ? encoder.encode(JSON.stringify(meta)) : new Uint8Array();
  if (t.length > 255 || e.length > 255 || m.length > 255) {
    throw new FrameError("header field longer than 255 bytes");
  }
  const isBytes = payload instanceof Uint8Array;
  const body = isBytes ? payload : encoder.encode(JSON.stringify(payload ?? null));
  const out = new Uint8Array(5 + t.length + e.length + m.length + body.length);
  out.set([KIND_USER_BROADCAST, t.length, e.length, m.length, isBytes ? ENCODING_BINARY : ENCODING_JSON]);
  let off = 5;
  for (const part of [t, e, m, body]) {
    out.set(part, off);
    off += part.length;
  }
  return out;
}

/** The refs and topic of a kind-3 frame, read from its header without decoding the payload. */
export function peekBinaryRefs(
  bytes: Uint8Array,
): { join_ref: string | null; ref: string | null; topic: string } | null {
  if (bytes.length < 7 || bytes[0] !== KIND_USER_BROADCAST_PUSH) return null;
  const [jl, rl, tl] = bytes.subarray(1, 4);
  if (7 + jl + rl + tl > bytes.length) return null;
  try {
    const at = (off: number, n: number) => decoder.decode(bytes.subarray(off, off + n));
    const topic = at(7 + jl + rl, tl);
    return topic ? { join_ref: at(7, jl) || null, ref: at(7 + jl, rl) || null, topic } : null;
  } catch {
    return null;
  }
}
