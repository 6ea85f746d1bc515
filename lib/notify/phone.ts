/**
 * Phone numbers for SMS: verification by a 6-digit code (valid 10 minutes, 5 tries, hashed at
 * rest), opt-in and opt-out, and the carrier keywords STOP/START received from the phone.
 */
import { sha256Hex } from "../hash.ts";
import type { Db, Queryable } from "../db/port.ts";
import { AppError, conflict, serviceUnavailable, unprocessable } from "../errors.ts";
import type { OutboxDeps } from "./outbox.ts";
import { RetryableDeliveryError, sendText } from "./outbox.ts";

const CODE_TTL_MINUTES = 10;
const MAX_TRIES = 5;

const codeHash = (userId: string, phone: string, code: string) => sha256Hex(`${userId}:${phone}:${code}`);

/** Sends a fresh code to `phone` (E.164), replacing any earlier one. */
export async function startPhoneVerification(deps: OutboxDeps, userId: string, phone: string): Promise<void> {
  const taken = await deps.db.query(
    "select 1 from public.user_phones where phone = $1 and user_id <> $2",
    [phone, userId],
  );
  if (taken.length) throw conflict("That number belongs to another account.", "phone_taken");
  const n = crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
  const code = String(n).padStart(6, "0");
  await deps.db.query(
    `insert into plaza.phone_verifications (user_id, phone, code_hash, expires_at)
     values ($1, $2, $3, now() + make_interval(mins => $4))
     on conflict (user_id) do update set phone = excluded.phone, code_hash = excluded.code_hash,
       expires_at = excluded.expires_at, attempts = 0, created_at = now()`,
    [userId, phone, await codeHash(userId, phone, code), CODE_TTL_MINUTES],
  );
  let sent;
  try {
    sent = await sendText(
      deps,
      { to: phone, text: `Your Plaza code is ${code}. It expires in ${CODE_TTL_MINUTES} minutes.` },
      { userId },
    );
  } catch (err) {
    if (err instanceof RetryableDeliveryError) {
      // Never sent, and never to be sent (the person asks again): keep no usable code.
      await deps.db.query(
        `update plaza.outbox set text_body = replace(text_body, $2, '••••••'), status = 'failed'
         where user_id = $1 and channel = 'sms' and notification_id is null and status = 'stored'
           and strpos(text_body, $2) > 0`,
        [userId, code],
      );
      throw serviceUnavailable("Texts cannot be sent right now. Try again in a minute.", 60);
    }
    throw err;
  }
  // Once the provider has it, the outbox keeps no usable code (without a provider the outbox is how
  // the code reaches the person in development, so it stays).
  if (sent.status !== "stored") {
    await deps.db.query(
      "update plaza.outbox set text_body = replace(text_body, $2, '••••••') where id = $1",
      [
        sent.outboxId,
        code,
      ],
    );
  }
  if (sent.status === "failed") {
    throw unprocessable("That number cannot receive texts.", [{
      path: "phone",
      message: sent.error ?? "Refused.",
    }]);
  }
}

/** Checks `code`; on success the phone is verified and texts are on. */
export async function confirmPhoneVerification(
  db: Db,
  userId: string,
  code: string,
): Promise<{ phone: string }> {
  // A wrong try and an expired code are refusals that must still be written: they are returned
  // from the transaction and thrown after it commits (a throw inside would roll them back).
  const outcome = await db.transaction(async (tx): Promise<{ phone: string } | { refusal: AppError }> => {
    const [v] = await tx.query<{ phone: string; code_hash: string; expired: boolean; attempts: number }>(
      `select phone, code_hash, expires_at < now() as expired, attempts from plaza.phone_verifications
       where user_id = $1 for update`,
      [userId],
    );
    if (!v) throw unprocessable("Ask for a code first.", [{ path: "code", message: "No code was sent." }]);
    if (v.expired) {
      await tx.query("delete from plaza.phone_verifications where user_id = $1", [userId]);
      return {
        refusal: new AppError(422, "code_expired", "The code has expired. Ask for a new one.", [
          { path: "code", message: "Expired." },
        ]),
      };
    }
    if (v.attempts >= MAX_TRIES) {
      throw new AppError(429, "too_many_attempts", "Too many wrong codes. Ask for a new one.", undefined, {
        "Retry-After": "60",
      });
    }
    if (await codeHash(userId, v.phone, code) !== v.code_hash) {
      await tx.query("update plaza.phone_verifications set attempts = attempts + 1 where user_id = $1", [
        userId,
      ]);
      const left = MAX_TRIES - v.attempts - 1;
      return {
        refusal: unprocessable(`That code is not right (${left} ${left === 1 ? "try" : "tries"} left).`, [
          { path: "code", message: "Wrong code." },
        ]),
      };
    }
    // Another account may have verified the number since this code was sent.
    const taken = await tx.query(
      "select 1 from public.user_phones where phone = $1 and user_id <> $2",
      [v.phone, userId],
    );
    if (taken.length) throw conflict("That number belongs to another account.", "phone_taken");
    await tx.query("delete from plaza.phone_verifications where user_id = $1", [userId]);
    await tx.query(
      `insert into public.user_phones (user_id, phone, verified_at, sms_opt_in, stopped_at)
       values ($1, $2, now(), true, null)
       on conflict (user_id) do update set phone = excluded.phone, verified_at = now(), sms_opt_in = true,
         stopped_at = null`,
      [userId, v.phone],
    );
    return { phone: v.phone };
  });
  if ("refusal" in outcome) throw outcome.refusal;
  return outcome;
}

/** The caller's phone state for the settings page. */
export async function phoneStatus(
  db: Db,
  userId: string,
): Promise<{ phone: string | null; sms_opt_in: boolean; stopped: boolean; pending: string | null }> {
  const [p] = await db.query<{ phone: string; sms_opt_in: boolean; stopped_at: Date | null }>(
    "select phone, sms_opt_in, stopped_at from public.user_phones where user_id = $1",
    [userId],
  );
  const [v] = await db.query<{ phone: string }>(
    "select phone from plaza.phone_verifications where user_id = $1 and expires_at > now()",
    [userId],
  );
  return {
    phone: p?.phone ?? null,
    sms_opt_in: p?.sms_opt_in ?? false,
    stopped: !!p?.stopped_at,
    pending: v?.phone ?? null,
  };
}

/** Turns texts on or off for the caller's verified phone. */
export async function setSmsOptIn(db: Db, userId: string, optIn: boolean): Promise<void> {
  const rows = await db.query(
    "update public.user_phones set sms_opt_in = $2 where user_id = $1 returning 1",
    [
      userId,
      optIn,
    ],
  );
  if (!rows.length) throw conflict("Verify a phone number first.", "no_phone");
}

/** Removes the caller's phone. */
export async function removePhone(db: Db, userId: string): Promise<void> {
  await db.query("delete from public.user_phones where user_id = $1", [userId]);
  await db.query("delete from plaza.phone_verifications where user_id = $1", [userId]);
}

/** STOP / START texted from a phone: the carrier-level opt-out of every account on that number. */
export async function applySmsKeyword(
  db: Queryable,
  phone: string,
  keyword: "stop" | "start",
): Promise<number> {
  const rows = await db.query(
    keyword === "stop"
      ? "update public.user_phones set stopped_at = now() where phone = $1 and stopped_at is null returning 1"
      : "update public.user_phones set stopped_at = null where phone = $1 and stopped_at is not null returning 1",
    [phone],
  );
  return rows.length;
}
