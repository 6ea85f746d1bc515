/**
 * The delivery ladder of one notification (the `notify-deliver` job). Push goes out at once; a
 * notification still unread after the escalation delay goes on to SMS (when the person verified a
 * phone and opted in), then, after another delay, to email. Channels the person switched off for the
 * category, or cannot receive, are skipped. Quiet hours postpone every step of a non-critical
 * notification to their end. Each attempt lands in plaza.deliveries; each channel is tried at most
 * once per notification, so a retried job sends nothing twice.
 */
import type { Config } from "../config.ts";
import type { Db } from "../db/port.ts";
import type { Jobs } from "../jobs/port.ts";
import type { Logger } from "../log.ts";
import { DELIVER_JOB } from "./notify.ts";
import { type OutboxResult, RetryableDeliveryError, sendEmail, sendText } from "./outbox.ts";
import { type Channel, CHANNELS, loadPreferences, quietUntil } from "./preferences.ts";
import type { VapidKeys } from "./push.ts";
import { type Category, emailFor, smsFor } from "./templates.ts";
import { pushToUser } from "./web_push.ts";

/** What the ladder needs. */
export interface DeliverDeps {
  db: Db;
  jobs: Jobs;
  log: Logger;
  config: Config;
  vapid: () => Promise<VapidKeys>;
  now?: () => Date;
}

interface NotificationRow {
  id: string | number;
  user_id: string;
  category: Category;
  title: string;
  body: string;
  url: string | null;
  critical: boolean;
  created_at: Date | string;
  read_at: Date | string | null;
  email: string | null;
}

type Attempt = {
  status: "sent" | "failed" | "skipped";
  provider: string;
  providerId?: string | null;
  costMicros?: number | null;
  costUnit?: string | null;
  error?: string | null;
};

const baseUrl = (config: Config) => config.publicUrl ?? `http://localhost:${config.port}`;

/**
 * Claims the channel for this notification before anything is sent: only the run that inserts the
 * `sending` row sends, so concurrent or repeated runs (an expired claim, QStash delivering twice)
 * never send twice. A crash after the claim loses that one attempt rather than repeating it.
 */
async function claimChannel(db: Db, n: NotificationRow, channel: Channel): Promise<number | null> {
  const [row] = await db.query<{ id: string | number }>(
    `insert into plaza.deliveries (notification_id, user_id, channel, provider, status)
     values ($1, $2, $3, '', 'sending')
     on conflict (notification_id, channel) do nothing returning id`,
    [n.id, n.user_id, channel],
  );
  return row ? Number(row.id) : null;
}

async function logDelivery(db: Db, id: number, a: Attempt) {
  await db.query(
    `update plaza.deliveries set provider = $2, provider_id = $3, status = $4, cost_micros = $5, cost_unit = $6,
       error = $7, updated_at = now() where id = $1`,
    [
      id,
      a.provider,
      a.providerId ?? null,
      a.status,
      a.costMicros ?? null,
      a.costUnit ?? null,
      a.error ?? null,
    ],
  );
}

const fromOutbox = (r: OutboxResult): Attempt => ({
  status: r.status === "failed" ? "failed" : "sent",
  provider: r.provider,
  providerId: r.providerId ?? `outbox:${r.outboxId}`,
  costMicros: r.costMicros,
  costUnit: r.costUnit,
  error: r.error,
});

/** Whether `userId` can receive on `channel` at all, and where. */
async function reachable(db: Db, n: NotificationRow, channel: Channel): Promise<string | null> {
  if (channel === "email") return n.email;
  if (channel === "push") {
    const [row] = await db.query("select 1 from public.push_subscriptions where user_id = $1 limit 1", [
      n.user_id,
    ]);
    return row ? "device" : null;
  }
  const [phone] = await db.query<{ phone: string }>(
    "select phone from public.user_phones where user_id = $1 and sms_opt_in and stopped_at is null",
    [n.user_id],
  );
  return phone?.phone ?? null;
}

async function attempt(
  deps: DeliverDeps,
  n: NotificationRow,
  channel: Channel,
  to: string,
): Promise<Attempt> {
  const id = Number(n.id);
  const rendered = { title: n.title, body: n.body, url: n.url };
  const ids = { userId: n.user_id, notificationId: id };
  if (channel === "email") {
    return fromOutbox(await sendEmail(deps, { to, ...emailFor(rendered, baseUrl(deps.config)) }, ids));
  }
  if (channel === "sms") {
    return fromOutbox(await sendText(deps, { to, text: smsFor(rendered, baseUrl(deps.config)) }, ids));
  }
  const out = await pushToUser(deps, n.user_id, {
    notification_id: id,
    title: n.title,
    body: n.body,
    url: n.url ?? "/notifications",
    click_url: `/api/v1/notifications/${id}/click`,
    actions: [{ action: "open", title: "Open" }, { action: "read", title: "Mark as read" }],
  }, { urgency: n.critical ? "high" : "normal" });
  return out.sent > 0
    ? { status: "sent", provider: "webpush", providerId: out.messageId, error: out.error }
    : { status: out.devices ? "failed" : "skipped", provider: "webpush", error: out.error ?? "no devices" };
}

/**
 * Runs the ladder for `notificationId` from rung `from`. `afterQuiet` marks a run that quiet hours
 * postponed: its rung goes out without looking at the quiet hours again.
 */
export async function deliverNotification(
  deps: DeliverDeps,
  notificationId: number,
  from: number,
  afterQuiet = false,
  finalAttempt = false,
): Promise<void> {
  const now = deps.now?.() ?? new Date();
  const [n] = await deps.db.query<NotificationRow>(
    `select n.id, n.user_id, n.category, n.title, n.body, n.url, n.critical, n.created_at, n.read_at, u.email
     from public.notifications n join auth.users u on u.id = n.user_id where n.id = $1`,
    [notificationId],
  );
  if (!n || n.read_at) return; // deleted, or read: nothing more to do
  const prefs = await loadPreferences(deps.db, n.user_id);
  const switches = prefs.categories[n.category];
  const delay = deps.config.escalationDelaySeconds * 1000;
  const enqueueRung = (rung: number, at: Date, quiet = false) =>
    deps.jobs.enqueue(DELIVER_JOB, { notification_id: notificationId, from: rung, after_quiet: quiet }, {
      dedupId: `notify:${notificationId}:${rung}${quiet ? `@${at.toISOString()}` : ""}`,
      notBefore: at,
    });

  for (let rung = from; rung < CHANNELS.length; rung++) {
    const channel = CHANNELS[rung];
    if (!switches[channel]) continue;
    const to = await reachable(deps.db, n, channel);
    if (!to) continue;
    // Only push is immediate; the others wait for the escalation delay after the notification.
    const due = rung === 0
      ? now
      : new Date(Math.max(now.getTime(), new Date(n.created_at).getTime() + delay));
    if (due.getTime() > now.getTime() + 1000) {
      await enqueueRung(rung, due);
      return;
    }
    const quiet = n.critical || (afterQuiet && rung === from) ? null : quietUntil(prefs.settings, due);
    if (quiet) {
      await enqueueRung(rung, quiet, true);
      return;
    }
    const claim = await claimChannel(deps.db, n, channel);
    if (claim !== null) {
      let result: Attempt;
      try {
        result = await attempt(deps, n, channel, to);
      } catch (err) {
        if (err instanceof RetryableDeliveryError && !finalAttempt) {
          // Give the claim back so the job's retry can send.
          await deps.db.query("delete from plaza.deliveries where id = $1 and status = 'sending'", [claim]);
          throw err;
        }
        // Out of retries, or an error no retry can fix: record it and go on to the next rung.
        const message = err instanceof Error ? err.message : String(err);
        result = {
          status: "failed",
          provider: channel === "push" ? "webpush" : channel,
          error: message.slice(0, 1000),
        };
        deps.log.error("notification delivery failed", { notification_id: notificationId, channel, err });
      }
      await logDelivery(deps.db, claim, result);
      deps.log.info("notification delivered", {
        notification_id: notificationId,
        channel,
        status: result.status,
      });
      // A channel that could not take it hands over at once; one that did waits to be read.
      if (result.status !== "sent") continue;
    }
    if (rung + 1 < CHANNELS.length) await enqueueRung(rung + 1, new Date(now.getTime() + delay));
    return;
  }
}
