/**
 * Realtime credentials: the project's API keys (anon and service role, JWTs like Supabase's) and
 * user access tokens, all HS256 with the same secret. Embedded Plaza mints its own API keys from
 * PLAZA_SECRET; they are deterministic, so every process of a deployment agrees on them.
 */
import type { Claims } from "../db/as_user.ts";
import { JwtError, signJwt, verifyJwt } from "../auth/jwt.ts";

/** Who is on the other end of a socket, channel or REST call. */
export interface RealtimeIdentity {
  role: "anon" | "authenticated" | "service_role";
  /** Claims for `asUser` (null for anon and the service role). */
  claims: Claims | null;
  /** Expiry in seconds since the epoch. */
  exp: number;
}

/** Far future expiry for API keys (1 January 2100), as Supabase's keys have ~10 years. */
const API_KEY_EXP = 4_102_444_800;

/** Mints the anon and service-role API keys for a secret key. */
export async function mintApiKeys(key: CryptoKey): Promise<{ anonKey: string; serviceRoleKey: string }> {
  const base = { iss: "plaza", iat: 1_700_000_000, exp: API_KEY_EXP };
  return {
    anonKey: await signJwt(key, { ...base, role: "anon" }),
    serviceRoleKey: await signJwt(key, { ...base, role: "service_role" }),
  };
}

/** Verifies an API key or a user access token; throws {@link JwtError}. */
export async function verifyRealtimeToken(key: CryptoKey, token: string): Promise<RealtimeIdentity> {
  const payload = await verifyJwt<Claims & { exp: number; aud?: string | string[] }>(key, token);
  if (payload.role === "anon") return { role: "anon", claims: null, exp: payload.exp };
  if (payload.role === "service_role") return { role: "service_role", claims: null, exp: payload.exp };
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (payload.role !== "authenticated" || !aud.includes("authenticated") || typeof payload.sub !== "string") {
    throw new JwtError("audience");
  }
  return { role: "authenticated", claims: payload, exp: payload.exp };
}
