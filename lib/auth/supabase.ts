/**
 * Supabase Auth as Plaza's auth provider (cloud mode): the same routes, backed by GoTrue through
 * `@supabase/supabase-js`. Access tokens are Supabase's JWTs, verified locally with
 * SUPABASE_JWT_SECRET. Admin actions (roles, password changes, global sign-out) use the service
 * role key and never reach the browser.
 */
import {
  type AuthError,
  createClient,
  type Session as SupabaseSession,
  type User,
} from "@supabase/supabase-js";
import { AppError, conflict, forbidden, serviceUnavailable, unauthorized } from "../errors.ts";
import { type AuthProvider, type AuthUser, type Role, ROLES, type SignedIn } from "./service.ts";
import { accessTokenVerifier } from "./service.ts";

/** Options for {@link supabaseAuth}. */
export interface SupabaseAuthOptions {
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  /** HMAC key made from SUPABASE_JWT_SECRET. */
  jwtKey: CryptoKey;
  adminEmails: Set<string>;
}

const clientOptions = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } };

function roleOf(user: User): Role {
  const r = user.app_metadata?.role;
  return (ROLES as readonly string[]).includes(r) ? r : "member";
}

function toUser(user: User): AuthUser {
  const email = user.email ?? "";
  return {
    id: user.id,
    email,
    role: roleOf(user),
    name: (user.user_metadata?.name as string | undefined) ?? email.split("@")[0],
    created_at: new Date(user.created_at).toISOString(),
  };
}

function toSignedIn(session: SupabaseSession): SignedIn {
  return {
    user: toUser(session.user),
    session: {
      access_token: session.access_token,
      refresh_token: session.refresh_token,
      token_type: "bearer",
      expires_in: session.expires_in,
      expires_at: session.expires_at ?? Math.floor(Date.now() / 1000) + session.expires_in,
    },
  };
}

/** Maps GoTrue's error codes to Plaza's errors; anything unexpected is a 503, never a leak. */
function mapError(error: AuthError): AppError {
  switch (error.code) {
    case "user_already_exists":
    case "email_exists":
      return conflict("An account with this email already exists.", "email_taken");
    case "invalid_credentials":
      return new AppError(401, "invalid_credentials", "Invalid email or password.");
    case "email_not_confirmed":
      return forbidden("Confirm your email address first: we sent you a link.", "email_not_confirmed");
    case "refresh_token_already_used":
      return new AppError(401, "refresh_token_already_used", "The refresh token was already used.");
    case "refresh_token_not_found":
    case "session_expired":
    case "session_not_found":
      return unauthorized("The refresh token is invalid or expired.", "invalid_refresh_token");
    case "weak_password":
      return new AppError(422, "validation_failed", error.message, [{
        path: "password",
        message: error.message,
      }]);
    case "over_request_rate_limit":
    case "over_email_send_rate_limit":
      return new AppError(429, "rate_limited", "Too many requests. Try again later.", undefined, {
        "Retry-After": "60",
      });
    default:
      return serviceUnavailable("The sign-in service did not answer as expected. Try again shortly.");
  }
}

/** Creates the Supabase Auth provider. */
export function supabaseAuth(options: SupabaseAuthOptions): AuthProvider {
  // A fresh client per call: GoTrueClient keeps per-instance session state and a lock, which
  // concurrent requests for different users must not share.
  const userClient = () => createClient(options.url, options.anonKey, clientOptions).auth;
  const admin = createClient(options.url, options.serviceRoleKey, clientOptions).auth.admin;
  const verifyAccessToken = accessTokenVerifier(options.jwtKey);

  async function expectSession(
    call: Promise<{ data: { session: SupabaseSession | null }; error: AuthError | null }>,
  ): Promise<SupabaseSession> {
    const { data, error } = await call;
    if (error) throw mapError(error);
    if (!data.session) {
      throw forbidden("Confirm your email address first: we sent you a link.", "email_not_confirmed");
    }
    return data.session;
  }

  /**
   * PLAZA_ADMIN_EMAILS: a listed account whose email Supabase has confirmed is promoted, then the
   * session is refreshed so the returned token carries the role.
   */
  async function applyAdminList(session: SupabaseSession): Promise<SignedIn> {
    const email = session.user.email?.toLowerCase() ?? "";
    const eligible = options.adminEmails.has(email) && !!session.user.email_confirmed_at;
    if (!eligible || roleOf(session.user) === "admin") return toSignedIn(session);
    const { error } = await admin.updateUserById(session.user.id, {
      app_metadata: { ...session.user.app_metadata, role: "admin" },
    });
    if (error) throw mapError(error);
    return toSignedIn(
      await expectSession(userClient().refreshSession({ refresh_token: session.refresh_token })),
    );
  }

  return {
    async signup({ email, password, name }) {
      const session = await expectSession(
        userClient().signUp({ email, password, options: { data: { name } } }),
      );
      return await applyAdminList(session);
    },
    async login({ email, password }) {
      return await applyAdminList(await expectSession(userClient().signInWithPassword({ email, password })));
    },
    async refresh(refreshToken) {
      return toSignedIn(await expectSession(userClient().refreshSession({ refresh_token: refreshToken })));
    },
    async logout({ refreshToken, accessToken }) {
      let jwt = accessToken && await verifyAccessToken(accessToken).then(() => accessToken, () => undefined);
      if (!jwt && refreshToken) {
        const { data } = await userClient().refreshSession({ refresh_token: refreshToken });
        jwt = data.session?.access_token;
      }
      if (!jwt) return;
      const { error } = await admin.signOut(jwt, "local");
      if (error && error.status !== 401 && error.status !== 404) throw mapError(error);
    },
    async changePassword(user, current, next) {
      const check = await userClient().signInWithPassword({ email: user.email, password: current });
      if (check.error || !check.data.session) {
        throw new AppError(403, "invalid_credentials", "The current password is not correct.");
      }
      const updated = await admin.updateUserById(user.id, { password: next });
      if (updated.error) throw mapError(updated.error);
      // Ends every session of the user, then signs this device in again.
      const out = await admin.signOut(check.data.session.access_token, "global");
      if (out.error) throw mapError(out.error);
      return toSignedIn(
        await expectSession(userClient().signInWithPassword({ email: user.email, password: next })),
      );
    },
    verifyAccessToken,
  };
}
