/**
 * Plaza's own auth (embedded and self-hosted Postgres): users in `auth.users`, PBKDF2 password
 * hashes, HS256 access tokens with Supabase's claims, rotating refresh tokens stored hashed.
 */
import type { Db, Queryable } from "../db/port.ts";
import { AppError, conflict, unauthorized } from "../errors.ts";
import { type AccessClaims, b64url, JwtError, signJwt, verifyJwt } from "./jwt.ts";
import { dummyPasswordHash, hashPassword, verifyPassword } from "./password.ts";
import { createTokenCache } from "./token_cache.ts";
import { sha256Hex } from "../hash.ts";

/** The three roles, carried in `app_metadata.role`. */
export const ROLES = ["member", "partner", "admin"] as const;
export type Role = typeof ROLES[number];

/** The user as the API shows it. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  name: string;
  created_at: string;
}

/** Tokens of a signed-in session, in Supabase's field names. */
export interface Session {
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
  expires_in: number;
  /** Seconds since the epoch. */
  expires_at: number;
}

/** A user and a fresh session, returned by signup, login and refresh. */
export interface SignedIn {
  user: AuthUser;
  session: Session;
}

/** What the HTTP layer needs from an auth backend (Plaza's own, or Supabase Auth). */
export interface AuthProvider {
  signup(input: { email: string; password: string; name: string }): Promise<SignedIn>;
  login(input: { email: string; password: string }): Promise<SignedIn>;
  refresh(refreshToken: string): Promise<SignedIn>;
  /** Revokes the session the tokens belong to (either one identifies it). Unknown tokens are ignored. */
  logout(tokens: { refreshToken?: string; accessToken?: string }): Promise<void>;
  /** Checks the current password, sets the new one, revokes every session, returns a new one. */
  changePassword(user: { id: string; email: string }, current: string, next: string): Promise<SignedIn>;
  /** Verifies an access token (signature, audience, expiry). */
  verifyAccessToken(token: string): Promise<AccessClaims>;
}

/** Access tokens live an hour, refresh tokens 30 days. */
export const ACCESS_TTL_SECONDS = 3600;
export const REFRESH_TTL_SECONDS = 30 * 24 * 3600;
/** A rotated refresh token used again within this window is a race between tabs, not theft. */
const REUSE_GRACE_MS = 10_000;

interface UserRow {
  id: string;
  email: string;
  encrypted_password: string | null;
  raw_app_meta_data: { role?: string };
  raw_user_meta_data: { name?: string };
  created_at: Date;
  email_confirmed_at: Date | null;
  banned_until: Date | null;
  deleted_at: Date | null;
  name: string | null;
}

const userColumns = `u.id, u.email, u.encrypted_password, u.raw_app_meta_data, u.raw_user_meta_data,
  u.created_at, u.email_confirmed_at, u.banned_until, u.deleted_at, p.name`;

function roleOf(row: Pick<UserRow, "raw_app_meta_data">): Role {
  const r = row.raw_app_meta_data?.role;
  return (ROLES as readonly string[]).includes(r ?? "") ? r as Role : "member";
}

function toUser(row: UserRow): AuthUser {
  return {
    id: row.id,
    email: row.email,
    role: roleOf(row),
    name: row.name ?? row.raw_user_meta_data?.name ?? row.email.split("@")[0],
    created_at: new Date(row.created_at).toISOString(),
  };
}

const invalidCredentials = () => new AppError(401, "invalid_credentials", "Invalid email or password.");

/** Options for {@link localAuth}. */
export interface LocalAuthOptions {
  db: Db;
  /** HMAC key for access tokens. */
  key: CryptoKey;
  /** Emails (lower case) that are admins; applied at signup and login. */
  adminEmails: Set<string>;
}

/** Plaza's own auth provider. */
export function localAuth({ db, key, adminEmails }: LocalAuthOptions): AuthProvider {
  const normalize = (email: string) => email.trim().toLowerCase();
  const verifyAccessToken = accessTokenVerifier(key);

  async function issue(tx: Queryable, row: UserRow, sessionId: string): Promise<SignedIn> {
    const user = toUser(row);
    const now = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = {
      aud: "authenticated",
      iat: now,
      exp: now + ACCESS_TTL_SECONDS,
      sub: user.id,
      email: user.email,
      role: "authenticated",
      app_metadata: { provider: "email", providers: ["email"], role: user.role },
      user_metadata: { name: user.name },
      session_id: sessionId,
      is_anonymous: false,
    };
    const refreshToken = b64url(crypto.getRandomValues(new Uint8Array(32)));
    await tx.query(
      `insert into plaza.refresh_tokens (token_hash, user_id, session_id, expires_at)
       values ($1, $2, $3, now() + make_interval(secs => $4))`,
      [await sha256Hex(refreshToken), user.id, sessionId, REFRESH_TTL_SECONDS],
    );
    return {
      user,
      session: {
        access_token: await signJwt(key, claims),
        refresh_token: refreshToken,
        token_type: "bearer",
        expires_in: ACCESS_TTL_SECONDS,
        expires_at: claims.exp,
      },
    };
  }

  /**
   * Applies PLAZA_ADMIN_EMAILS: listed accounts are admins once their email is confirmed, so
   * nobody becomes admin by signing up first with an address they do not own.
   */
  async function applyAdminList(tx: Queryable, row: UserRow): Promise<UserRow> {
    if (!adminEmails.has(normalize(row.email)) || roleOf(row) === "admin" || !row.email_confirmed_at) {
      return row;
    }
    await tx.query(
      `update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role":"admin"}'::jsonb where id = $1`,
      [row.id],
    );
    return { ...row, raw_app_meta_data: { ...row.raw_app_meta_data, role: "admin" } };
  }

  const findByEmail = async (tx: Queryable, email: string) =>
    (await tx.query<UserRow>(
      `select ${userColumns} from auth.users u left join public.profiles p on p.id = u.id
       where lower(u.email) = $1`,
      [email],
    ))[0];

  const findById = async (tx: Queryable, id: string) =>
    (await tx.query<UserRow>(
      `select ${userColumns} from auth.users u left join public.profiles p on p.id = u.id where u.id = $1`,
      [id],
    ))[0];

  const usable = (row: UserRow | undefined): row is UserRow =>
    !!row && !row.deleted_at && !(row.banned_until && new Date(row.banned_until) > new Date());

  return {
    async signup({ email, password, name }) {
      const normalized = normalize(email);
      const hash = await hashPassword(password);
      return await db.transaction(async (tx) => {
        // Email confirmation arrives with the notification pipeline; until then a new account is
        // unconfirmed and always starts as a member.
        const role: Role = "member";
        const inserted = await tx.query<{ id: string }>(
          `insert into auth.users (email, encrypted_password, raw_app_meta_data, raw_user_meta_data,
             last_sign_in_at)
           values ($1, $2, $3::text::jsonb, $4::text::jsonb, now())
           on conflict ((lower(email))) do nothing
           returning id`,
          [
            normalized,
            hash,
            JSON.stringify({ provider: "email", providers: ["email"], role }),
            JSON.stringify({ name }),
          ],
        );
        if (!inserted.length) throw conflict("An account with this email already exists.", "email_taken");
        return await issue(tx, (await findById(tx, inserted[0].id))!, crypto.randomUUID());
      });
    },

    async login({ email, password }) {
      const row = await findByEmail(db, normalize(email));
      const ok = await verifyPassword(password, row?.encrypted_password ?? await dummyPasswordHash());
      if (!row || !ok || !usable(row)) throw invalidCredentials();
      return await db.transaction(async (tx) => {
        await tx.query("update auth.users set last_sign_in_at = now() where id = $1", [row.id]);
        return await issue(tx, await applyAdminList(tx, row), crypto.randomUUID());
      });
    },

    async refresh(refreshToken) {
      const hash = await sha256Hex(refreshToken);
      const outcome = await db.transaction(async (tx): Promise<SignedIn | AppError> => {
        const [token] = await tx.query<{
          id: number;
          user_id: string;
          session_id: string;
          revoked_at: Date | null;
          rotated_at: Date | null;
          expired: boolean;
        }>(
          `select id, user_id, session_id, revoked_at, rotated_at, expires_at <= now() as expired
           from plaza.refresh_tokens where token_hash = $1 for update`,
          [hash],
        );
        const invalid = unauthorized("The refresh token is invalid or expired.", "invalid_refresh_token");
        if (!token || token.revoked_at || token.expired) return invalid;
        if (token.rotated_at) {
          if (Date.now() - new Date(token.rotated_at).getTime() > REUSE_GRACE_MS) {
            // A token rotated long ago came back: it was copied. End the whole session.
            await tx.query(
              "update plaza.refresh_tokens set revoked_at = now() where session_id = $1 and revoked_at is null",
              [token.session_id],
            );
          }
          return new AppError(401, "refresh_token_already_used", "The refresh token was already used.");
        }
        const row = await findById(tx, token.user_id);
        if (!usable(row)) return invalid;
        await tx.query("update plaza.refresh_tokens set rotated_at = now() where id = $1", [token.id]);
        return await issue(tx, await applyAdminList(tx, row), token.session_id);
      });
      if (outcome instanceof AppError) throw outcome;
      return outcome;
    },

    async logout({ refreshToken, accessToken }) {
      if (refreshToken) {
        await db.query(
          `update plaza.refresh_tokens set revoked_at = now()
           where session_id = (select session_id from plaza.refresh_tokens where token_hash = $1)
             and revoked_at is null`,
          [await sha256Hex(refreshToken)],
        );
        return;
      }
      const claims = accessToken ? await verifyAccessToken(accessToken).catch(() => null) : null;
      if (claims?.session_id) {
        await db.query(
          "update plaza.refresh_tokens set revoked_at = now() where session_id = $1 and revoked_at is null",
          [claims.session_id],
        );
      }
    },

    async changePassword({ id: userId }, current, next) {
      const row = await findById(db, userId);
      if (
        !usable(row) || !await verifyPassword(current, row.encrypted_password ?? await dummyPasswordHash())
      ) {
        throw new AppError(403, "invalid_credentials", "The current password is not correct.");
      }
      const hash = await hashPassword(next);
      return await db.transaction(async (tx) => {
        await tx.query("update auth.users set encrypted_password = $2, updated_at = now() where id = $1", [
          userId,
          hash,
        ]);
        await tx.query(
          "update plaza.refresh_tokens set revoked_at = now() where user_id = $1 and revoked_at is null",
          [userId],
        );
        return await issue(tx, row, crypto.randomUUID());
      });
    },

    verifyAccessToken,
  };
}

/**
 * Verifies access tokens signed with `key` (Plaza's secret, or Supabase's JWT secret): HS256,
 * audience `authenticated`, not expired; remembers verified tokens until they expire. Failures are
 * 401 `token_expired` or `invalid_token`.
 */
export function accessTokenVerifier(key: CryptoKey): (token: string) => Promise<AccessClaims> {
  const verified = createTokenCache();
  return async (token) => {
    const cached = verified.get(token);
    if (cached) return cached;
    try {
      const claims = await verifyJwt<AccessClaims>(key, token, { audience: ["authenticated"] });
      verified.set(token, claims);
      return claims;
    } catch (err) {
      if (err instanceof JwtError) {
        throw unauthorized(
          err.reason === "expired" ? "The access token has expired." : "The access token is invalid.",
          err.reason === "expired" ? "token_expired" : "invalid_token",
        );
      }
      throw err;
    }
  };
}
