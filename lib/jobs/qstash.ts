/**
 * The QStash jobs adapter of cloud mode: jobs are published to `${PUBLIC_URL}/workers/<name>` with
 * @upstash/qstash (deduplication id, not-before, retries), crons become QStash schedules (time zone
 * through the `CRON_TZ=` prefix), and cancel deletes the message QStash holds for a dedup id (the id
 * pairs are kept in plaza.qstash_messages).
 */
import { Client } from "@upstash/qstash";
import type { Db } from "../db/port.ts";
import { CronError, isTimeZone, nextSlot } from "./cron.ts";
import type { Jobs } from "./port.ts";

/** What the adapter needs. */
export interface QStashOptions {
  token: string;
  baseUrl: string;
  /** Where QStash reaches this deployment (PUBLIC_URL). */
  publicUrl: string;
  db: Db;
}

/** The jobs port over QStash. */
export function qstashJobs(options: QStashOptions): Jobs {
  const { db } = options;
  // QStash retries deliveries itself; the client does not retry its own API calls behind our back.
  const client = new Client({ token: options.token, baseUrl: options.baseUrl, retry: false });
  const destination = (name: string) => `${options.publicUrl}/workers/${encodeURIComponent(name)}`;

  return {
    kind: "qstash",
    async enqueue(name, payload, opts = {}) {
      const notBefore = opts.notBefore ??
        (opts.delaySeconds ? new Date(Date.now() + opts.delaySeconds * 1000) : undefined);
      const res = await client.publishJSON({
        url: destination(name),
        body: payload ?? {},
        deduplicationId: opts.dedupId,
        notBefore: notBefore ? Math.ceil(notBefore.getTime() / 1000) : undefined,
        retries: opts.retries ?? 5,
      }) as { messageId: string; deduplicated?: boolean };
      if (res.deduplicated) return null;
      if (opts.dedupId) {
        await db.query(
          `insert into plaza.qstash_messages (dedup_id, message_id) values ($1, $2)
           on conflict (dedup_id) do update set message_id = excluded.message_id, created_at = now()`,
          [opts.dedupId, res.messageId],
        );
      }
      return res.messageId;
    },

    async cancel(dedupId) {
      const [row] = await db.query<{ message_id: string }>(
        "delete from plaza.qstash_messages where dedup_id = $1 returning message_id",
        [dedupId],
      );
      if (!row) return false;
      try {
        await client.messages.delete(row.message_id);
        return true;
      } catch (err) {
        // Already delivered (or never accepted): nothing left to cancel.
        if ((err as { status?: number }).status === 404) return false;
        throw err;
      }
    },

    async schedule(name, cron, opts = {}) {
      const timezone = opts.timezone ?? "UTC";
      if (!isTimeZone(timezone)) throw new CronError(`unknown time zone ${timezone}`);
      nextSlot(cron, timezone, new Date()); // throws CronError on a bad expression, before any call
      await client.schedules.create({
        destination: destination(name),
        cron: timezone === "UTC" ? cron : `CRON_TZ=${timezone} ${cron}`,
        // A fixed id makes re-declaring at every start update the schedule instead of adding one.
        scheduleId: `plaza-${name}`,
        body: "{}",
        headers: { "Content-Type": "application/json" },
      });
    },
  };
}
