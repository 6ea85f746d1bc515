/** Small helpers shared by the chat API tests (fixtures live in tests/support/chat.ts). */
import assert from "node:assert/strict";
import type { Claims } from "@/lib/db/as_user.ts";
import type { TestContext } from "../support/app.ts";
import type { TestUser } from "../support/factories.ts";

/** What {@link api} returns. */
// deno-lint-ignore no-explicit-any
export type ApiResult = { status: number; body: any };

/** Checks a refusal: the status and DESIGN section 6's error shape (and the code, when given). */
export function refused(res: ApiResult, status: number, code?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.code, "string", JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.message, "string", JSON.stringify(res.body));
  if (code) assert.equal(res.body.error.code, code, JSON.stringify(res.body));
  return res.body.error;
}

/** Checks a success status and returns the body. */
export function ok(res: ApiResult, status = 200) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
}

/** Rows in public.messages (all rooms, or one), read past RLS. */
export async function countMessages(t: TestContext, roomId?: string): Promise<number> {
  const [row] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from public.messages where $1::uuid is null or room_id = $1",
    [roomId ?? null],
  );
  return Number(row.n);
}

/** The JWT claims `asUser` takes for a plain member. */
export function claimsOf(user: TestUser): Claims {
  return { sub: user.id, role: "authenticated", app_metadata: { role: "member" } };
}

/** A random UUID that names nothing. */
export const nobody = () => crypto.randomUUID();
