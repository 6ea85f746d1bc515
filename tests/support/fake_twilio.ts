/**
 * A small stand-in for Twilio's Messages API, for testing Plaza's SMS sending without the internet:
 * Basic auth, E.164 checks, opted-out recipients and injected failures, each answered with Twilio's
 * error JSON (`code`, `message`, `more_info`, `status`). It also signs webhook requests the way Twilio
 * does, to drive Plaza's webhook endpoints.
 */
import { isE164, twilioSignature } from "@/lib/notify/twilio.ts";

/** One message the fake accepted. */
export interface SentSms {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | null;
}

/** A running fake. Point `TwilioConfig.apiBase` at `apiBase`. */
export interface FakeTwilio {
  apiBase: string;
  /** Messages accepted so far, oldest first. */
  sent: SentSms[];
  /** Makes the next send fail with `status` (500, 429, 400...) and Twilio error `code`. */
  failNext(status: number, code?: number): void;
  /** Makes sends to `number` fail as Twilio does for a recipient who texted STOP (400, 21610). */
  optedOut(number: string): void;
  /** A form POST to `url` carrying `params` and a correct X-Twilio-Signature. */
  signedWebhook(url: string, params: Record<string, string>): Promise<Request>;
  close(): Promise<void>;
}

const DEFAULT_MESSAGES: Record<number, string> = {
  400: "Bad Request",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function randomSid(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function twilioError(status: number, code: number, message: string): Response {
  return Response.json(
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    { status },
  );
}

/** Starts the fake on a free port of 127.0.0.1, accepting only `accountSid`:`authToken`. */
export function startFakeTwilio(config: { accountSid: string; authToken: string }): Promise<FakeTwilio> {
  const sent: SentSms[] = [];
  const failures: Array<{ status: number; code: number }> = [];
  const optedOutNumbers = new Set<string>();
  const expectedAuth = `Basic ${btoa(`${config.accountSid}:${config.authToken}`)}`;

  async function handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const route = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (req.method !== "POST" || !route) {
      return twilioError(404, 20404, `The requested resource ${path} was not found`);
    }
    if (req.headers.get("authorization") !== expectedAuth) {
      return twilioError(401, 20003, "Authentication Error - invalid username");
    }
    if (decodeURIComponent(route[1]) !== config.accountSid) {
      return twilioError(404, 20404, `The requested resource ${path} was not found`);
    }
    const form = new URLSearchParams(await req.text());
    const failure = failures.shift();
    if (failure) {
      return twilioError(failure.status, failure.code, DEFAULT_MESSAGES[failure.status] ?? "Error");
    }
    const to = form.get("To") ?? "";
    const from = form.get("From") ?? "";
    const body = form.get("Body") ?? "";
    if (!to) return twilioError(400, 21604, "A 'To' phone number is required.");
    if (!isE164(to)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!from) return twilioError(400, 21603, "A 'From' phone number is required.");
    if (!body) return twilioError(400, 21602, "Message body is required.");
    if (optedOutNumbers.has(to)) {
      return twilioError(400, 21610, "Attempt to send to unsubscribed recipient");
    }
    const sid = randomSid("SM");
    const statusCallback = form.get("StatusCallback");
    sent.push({ sid, to, from, body, statusCallback });
    const now = new Date().toUTCString().replace("GMT", "+0000");
    const uri = `/2010-04-01/Accounts/${config.accountSid}/Messages/${sid}`;
    return Response.json({
      account_sid: config.accountSid,
      api_version: "2010-04-01",
      body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: null,
      num_media: "0",
      num_segments: "1",
      price: null,
      price_unit: "USD",
      sid,
      status: "queued",
      subresource_uris: { media: `${uri}/Media.json` },
      to,
      uri: `${uri}.json`,
    }, { status: 201 });
  }

  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handle);
  return Promise.resolve({
    apiBase: `http://127.0.0.1:${server.addr.port}`,
    sent,
    failNext(status, code) {
      failures.push({ status, code: code ?? (status === 429 ? 20429 : status >= 500 ? 20500 : 21000) });
    },
    optedOut(number) {
      optedOutNumbers.add(number);
    },
    async signedWebhook(url, params) {
      const form = new URLSearchParams(params);
      return new Request(url, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": await twilioSignature(config.authToken, url, form),
        },
        body: form,
      });
    },
    close: () => server.shutdown(),
  });
}
