import assert from "node:assert/strict";
import { withApp } from "@/tests/support/app.ts";
import { seedDemo } from "../seed.ts";
import { asUser } from "../db/as_user.ts";
import { dashboardSummary, resolveRange } from "./dashboard.ts";
import { seedAnalyticsDemo } from "./demo.ts";

Deno.test({
  name: "[analytics] the demo seed fills activity over the past days and rolls it up",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const { db, auth, config } = t.platform;
      // seedDemo creates the accounts, rooms, events and orders, then calls seedAnalyticsDemo (120 days).
      const started = performance.now();
      await seedDemo(db, auth, config.dataDir);
      const seconds = (performance.now() - started) / 1000;
      const [activity] = await db.query<{ n: number; days: number; kinds: string[] }>(
        `select count(*)::int as n, count(distinct occurred_at::date)::int as days,
           array_agg(distinct kind order by kind) as kinds
         from analytics.activity where data ->> 'demo' = 'true'`,
      );
      assert.ok(activity.n > 10_000, `plenty of rows (${activity.n}, seeded in ${seconds.toFixed(1)} s)`);
      assert.ok(activity.days >= 119, `${activity.days} days`);
      assert.deepEqual(activity.kinds, [
        "media_uploaded",
        "message_sent",
        "order_status_changed",
        "page_viewed",
        "rsvp_changed",
        "signed_in",
      ]);
      const [future] = await db.query<{ n: number }>(
        "select count(*)::int as n from analytics.activity where occurred_at > now()",
      );
      assert.equal(future.n, 0, "nothing in the future");

      const [daily] = await db.query<{ days: number; views: number }>(
        `select count(distinct day)::int as days from analytics.daily_metrics
         where metric = 'page_views' and day > current_date - 120`,
      );
      assert.ok(daily.days >= 115, `daily_metrics has most days (${daily.days})`);
      const [weekly] = await db.query<{ n: number }>(
        "select count(*)::int as n from analytics.daily_metrics where metric = 'wau' and value > 0",
      );
      assert.ok(weekly.n >= 100, "WAU is rolled up");

      // The dashboard shows it: every overview KPI but deliveries has a value and a previous one.
      const [admin] = await db.query<{ id: string }>(
        "select id::text from auth.users where email = 'admin@plaza.local'",
      );
      const claims = { sub: admin.id, role: "authenticated", app_metadata: { role: "admin" } };
      const summary = await asUser(
        db,
        claims as never,
        (tx) => dashboardSummary(tx, "overview", resolveRange({ range: 30 })),
      );
      for (const k of summary.kpis.filter((k) => k.key !== "deliveries")) {
        assert.ok((k.value ?? 0) > 0, `${k.key} has a value`);
        // The demo accounts sign up today, so registrations have no previous period.
        if (k.key !== "registrations") assert.ok((k.previous ?? 0) > 0, `${k.key} has a previous value`);
      }
      assert.ok(summary.tables[0].rows.length >= 10, "top pages");

      // A second run on its own adds rows for a shorter period and stays consistent.
      const again = await seedAnalyticsDemo(db, { days: 3 });
      assert.ok(again.rows > 100);
    }),
});
