/**
 * Twilio SMS over its REST API (no SDK): sending a message, checking the `X-Twilio-Signature` of the
 * webhooks Twilio posts back (status callbacks and inbound messages), and the opt-out keywords.
 */
import { z } from "zod";
import { timingSafeEqual } from "@/lib/auth/password.ts";

/** Twilio credentials; `apiBase` defaults to "https://api.twilio.com" (tests point it at a fake). */
export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  from: string;
  apiBase?: string;
}

const E164 = /^\+[1-9]\d{7,14}$/;

/** True for an E.164 number: "+" then 8 to 15 digits, first digit 1-9. */
export function isE164(phone: string): boolean {
  return E164.test(phone);
}

/**
 * Normalizes user input to E.164, or null when it cannot be one (no leading +, letters, too short/long).
 * @example normalizePhone("+1 (415) 555-0100") // "+14155550100"
 */
export function normalizePhone(input: string): string | null {
  const trimmed = input.trim();
  if (!trimmed.startsWith("+")) return null;
  const rest = trimmed.slice(1);
  // Only the separators people type between digit groups; anything else (letters, "ext") is refused.
  if (!/^[\d\s().\-]+$/.test(rest)) return null;
  const phone = "+" + rest.replace(/[\s().\-]/g, "");
  return isE164(phone) ? phone : null;
}

/** The result of sending. */
export type SmsResult =
  | { ok: true; sid: string; status: string; priceMicros: number | null; priceUnit: string | null }
  | { ok: false; status: number; code: number | null; retryable: boolean; error: string };

/**
 * Converts a Twilio price string (negative decimal, e.g. "-0.00750") to positive micros (7500);
 * null for a missing or malformed price.
 */
export function twilioPriceMicros(price: string | null | undefined): number | null {
  const match = /^-?(\d+)(?:\.(\d+))?$/.exec(price?.trim() ?? "");
  if (!match) return null;
  const fraction = (match[2] ?? "").padEnd(7, "0");
  // String arithmetic, so "0.00750" does not become 7499.999... through floats.
  const micros = Number(match[1]) * 1_000_000 + Number(fraction.slice(0, 6));
  return fraction[6] >= "5" ? micros + 1 : micros;
}

const SEND_TIMEOUT_MS = 10_000;

/**
 * POSTs /2010-04-01/Accounts/{AccountSid}/Messages.json (form fields To, From, Body, StatusCallback)
 * with HTTP Basic auth and a 10 s timeout. 429, 5xx and network failures are retryable (status 0 for
 * the network); other 4xx are not, and carry Twilio's error `code` (21211 invalid number, 21610
 * unsubscribed recipient).
 */
export async function sendSms(
  config: TwilioConfig,
  to: string,
  body: string,
  options: { statusCallback?: string } = {},
): Promise<SmsResult> {
  const base = (config.apiBase ?? "https://api.twilio.com").replace(/\/+$/, "");
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
  const form = new URLSearchParams({ To: to, From: config.from, Body: body });
  if (options.statusCallback) form.set("StatusCallback", options.statusCallback);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`${config.accountSid}:${config.authToken}`)}`,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (err) {
    return { ok: false, status: 0, code: null, retryable: true, error: errorMessage(err) };
  }
  const text = await response.text().catch(() => "");
  const json = parseObject(text);
  if (response.ok && typeof json?.sid === "string") {
    return {
      ok: true,
      sid: json.sid,
      status: typeof json.status === "string" ? json.status : "queued",
      priceMicros: twilioPriceMicros(typeof json.price === "string" ? json.price : null),
      priceUnit: typeof json.price_unit === "string" ? json.price_unit : null,
    };
  }
  const status = response.status;
  return {
    ok: false,
    status,
    code: typeof json?.code === "number" ? json.code : null,
    retryable: status === 429 || status >= 500,
    error: typeof json?.message === "string" ? json.message : `Twilio answered ${status}`,
  };
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Twilio's X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + each POST param as name+value, sorted
 * by name)). A repeated name contributes each distinct value in sorted order, as Twilio's own helper
 * libraries (twilio-node, twilio-python) compute it.
 */
export async function twilioSignature(
  authToken: string,
  url: string,
  params: URLSearchParams,
): Promise<string> {
  const names = [...new Set(params.keys())].sort();
  let data = url;
  for (const name of names) {
    for (const value of [...new Set(params.getAll(name))].sort()) data += name + value;
  }
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(authToken),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(data)));
  return btoa(String.fromCharCode(...mac));
}

/** Constant-time check of `signature` against the one expected for exactly this `url` and `params`. */
export async function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: URLSearchParams,
  signature: string,
): Promise<boolean> {
  const expected = await twilioSignature(authToken, url, params);
  const encoder = new TextEncoder();
  return timingSafeEqual(encoder.encode(signature), encoder.encode(expected));
}

const KEYWORDS: Record<string, "stop" | "start" | "help"> = {
  STOP: "stop",
  STOPALL: "stop",
  UNSUBSCRIBE: "stop",
  CANCEL: "stop",
  END: "stop",
  QUIT: "stop",
  START: "start",
  YES: "start",
  UNSTOP: "start",
  HELP: "help",
  INFO: "help",
};

/** The opt-out keyword an inbound message is (case-insensitive, trimmed), or null for any other text. */
export function smsKeyword(body: string): "stop" | "start" | "help" | null {
  const word = body.trim().toUpperCase();
  return Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : null;
}

// SM for SMS, MM for messages with media: both arrive on the same webhooks.
const messageSid = z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, "not a Twilio message SID");
const accountSid = z.string().regex(/^AC[0-9a-fA-F]{32}$/, "not a Twilio account SID");

/** Form fields of a message status callback (other fields Twilio adds are kept). */
export const statusCallbackSchema = z.looseObject({
  MessageSid: messageSid,
  MessageStatus: z.enum([
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
    "accepted",
    "scheduled",
    "read",
    "receiving",
    "received",
  ]),
  ErrorCode: z.string().regex(/^\d+$/).optional(),
  Price: z.string().regex(/^-?\d+(\.\d+)?$/).optional(),
  PriceUnit: z.string().regex(/^[A-Z]{3}$/).optional(),
  AccountSid: accountSid,
  To: z.string().min(1),
  From: z.string().min(1),
});

/** Form fields of an inbound message (other fields Twilio adds are kept). */
export const inboundSmsSchema = z.looseObject({
  MessageSid: messageSid,
  AccountSid: accountSid,
  From: z.string().min(1),
  To: z.string().min(1),
  Body: z.string(),
});
