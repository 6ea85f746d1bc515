import assert from "node:assert/strict";
import { fromB64url, hmacKey, JwtError, signJwt, verifyJwt } from "./jwt.ts";
import { hashPassword, PBKDF2_ITERATIONS, timingSafeEqual, verifyPassword } from "./password.ts";
import { signValue, verifySignedValue } from "./signed_value.ts";

Deno.test("[jwt] verifies its own tokens and names the failed check", async () => {
  const key = await hmacKey("k".repeat(40));
  const now = 1_800_000_000;
  const token = await signJwt(key, { sub: "u", aud: "authenticated", exp: now + 10 });
  assert.equal((await verifyJwt(key, token, { now, audience: ["authenticated"] })).sub, "u");
  const reason = async (tok: string, o = {}) =>
    await verifyJwt(key, tok, { now, audience: ["authenticated"], ...o }).then(
      () => "ok",
      (e: JwtError) => e.reason,
    );
  assert.equal(await reason(token, { now: now + 10 }), "expired");
  assert.equal(await reason(await signJwt(key, { aud: "x", exp: now + 10 })), "audience");
  assert.equal(await reason(await signJwt(key, { aud: "authenticated" })), "expired");
  assert.equal(await reason(token.slice(0, -2) + (token.endsWith("A") ? "BB" : "AA")), "signature");
  assert.equal(await reason("a.b"), "malformed");
  assert.equal(await reason("!!.@@.##"), "malformed");
  const [, p, s] = token.split(".");
  const rs = btoa(JSON.stringify({ alg: "RS256" })).replace(/=+$/, "");
  assert.equal(await reason(`${rs}.${p}.${s}`), "algorithm");
});

Deno.test("[jwt] base64url round-trips all byte values", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const { b64url } = {
    b64url: (b: Uint8Array) =>
      btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  };
  assert.deepEqual(fromB64url(b64url(bytes)), bytes);
  assert.throws(() => fromB64url("a+b"));
});

Deno.test("[password] hashes verify, wrong passwords and malformed hashes do not", async () => {
  const hash = await hashPassword("correct horse", 1000);
  assert.ok(await verifyPassword("correct horse", hash));
  assert.ok(!await verifyPassword("correct horsE", hash));
  assert.ok(!await verifyPassword("x", "plain-text"));
  assert.ok(!await verifyPassword("x", "pbkdf2_sha256$0$a$b"));
  assert.notEqual(await hashPassword("same", 1000), await hashPassword("same", 1000), "salted");
  assert.equal(PBKDF2_ITERATIONS, 600_000, "OWASP 2023 minimum for PBKDF2-HMAC-SHA256");
});

Deno.test("[password] constant-time compare", () => {
  assert.ok(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 2])));
});

Deno.test("[signed-value] round-trips, refuses tampering and expiry", async () => {
  const key = await hmacKey("s".repeat(40));
  const token = await signValue(key, "a@example.test", 60);
  assert.equal(await verifySignedValue(key, token), "a@example.test");
  assert.equal(await verifySignedValue(key, token.replace(/^./, "x")), null);
  assert.equal(await verifySignedValue(await hmacKey("o".repeat(40)), token), null);
  assert.equal(await verifySignedValue(key, await signValue(key, "v", -1)), null);
  assert.equal(await verifySignedValue(key, "garbage"), null);
});

Deno.test("[token-cache] returns verified claims until they expire and stays bounded", async () => {
  const { createTokenCache } = await import("./token_cache.ts");
  const clock = { now: 1_000_000 };
  const cache = createTokenCache(2, () => clock.now);
  const claims = (exp: number) => ({
    sub: "u",
    role: "authenticated" as const,
    aud: "authenticated",
    iat: 0,
    exp,
  });
  cache.set("a", claims(1_010));
  assert.equal(cache.get("a")?.sub, "u");
  clock.now = 1_010_000;
  assert.equal(cache.get("a"), undefined, "expired tokens are forgotten");
  cache.set("b", claims(2_000));
  cache.set("c", claims(2_000));
  cache.set("d", claims(2_000));
  assert.equal(cache.get("b"), undefined, "the oldest entry was evicted");
  assert.ok(cache.get("c") && cache.get("d"));
});

Deno.test("[guard] IPv6 addresses share a bucket per /64, IPv4 stay as they are", async () => {
  const { ipBucket } = await import("./guard.ts");
  assert.equal(ipBucket("203.0.113.9"), "203.0.113.9");
  assert.equal(ipBucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(ipBucket("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  assert.equal(ipBucket("[2001:db8::1]"), "2001:db8:0:0::/64");
  assert.equal(ipBucket("::1"), "0:0:0:0::/64");
});
