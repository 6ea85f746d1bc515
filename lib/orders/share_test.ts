import assert from "node:assert/strict";
import { hmacKey } from "../auth/jwt.ts";
import { signShare, verifyShare } from "./share.ts";

Deno.test("[order share] a token verifies with its key only, and any change breaks it", async () => {
  const key = await hmacKey("k1");
  const id = crypto.randomUUID();
  const token = await signShare(key, id, 2_000_000_000, 3);
  assert.deepEqual(await verifyShare(key, token), { orderId: id, exp: 2_000_000_000, version: 3 });
  assert.equal(await verifyShare(await hmacKey("k2"), token), null);
  const [o, e, v, s] = token.split(".");
  assert.equal(await verifyShare(key, [o, String(Number(e) + 1), v, s].join(".")), null);
  assert.equal(await verifyShare(key, [o, e, "4", s].join(".")), null);
  assert.equal(await verifyShare(key, [crypto.randomUUID(), e, v, s].join(".")), null);
  // Every other last character, including the spellings that decode to the same bytes.
  for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
    if (ch !== token.at(-1)) assert.equal(await verifyShare(key, token.slice(0, -1) + ch), null, ch);
  }
  assert.equal(await verifyShare(key, "garbage"), null);
});
