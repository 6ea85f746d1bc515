import assert from "node:assert/strict";
import { withApp } from "@/tests/support/app.ts";
import { describeDemo, isEmpty, seedDemo } from "./seed.ts";

Deno.test({
  name: "[seed] creates a member, a partner and an admin once, with working passwords",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withApp(async (t) => {
      const { db, auth, config } = t.platform;
      assert.ok(await isEmpty(db));
      const created = await seedDemo(db, auth, config.dataDir);
      assert.deepEqual(created.map((a) => a.role), ["member", "partner", "admin"]);
      assert.ok(!await isEmpty(db));
      for (const account of created) {
        const { user } = await auth.login({ email: account.email, password: account.password });
        assert.equal(user.role, account.role);
      }
      const saved = await Deno.readTextFile(`${config.dataDir}/demo-accounts.txt`);
      for (const a of created) assert.ok(saved.includes(a.password));
      assert.match(describeDemo(created), /admin@plaza\.local/);
      assert.deepEqual(await seedDemo(db, auth, config.dataDir), [], "a second run creates nothing");
      const [events] = await db.query<{ n: number; going: number }>(
        "select count(*)::int as n, sum(going_count)::int as going from public.events",
      );
      assert.equal(events.n, 11, "8 games nights, a repair café, a walk and a town hall");
      assert.equal(events.going, 3);
      const orders = await db.query<{ status: string; fixes: number; room: number }>(
        `select o.status, (select count(*)::int from public.order_locations l where l.order_id = o.id) as fixes,
           (select count(*)::int from public.rooms r where r.order_id = o.id) as room
         from public.orders o order by o.status`,
      );
      assert.deepEqual(orders.map((o) => [o.status, o.room]), [["delivered", 1], ["en_route_dropoff", 1], [
        "requested",
        1,
      ]]);
      assert.ok(orders[1].fixes > 10, "the live order has a trail");
    }),
});
