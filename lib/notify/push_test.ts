import assert from "node:assert/strict";
import { b64url, fromB64url } from "@/lib/auth/jwt.ts";
import { startPushService } from "@/tests/support/push_service.ts";
import {
  generateVapidKeys,
  MAX_PUSH_PAYLOAD_BYTES,
  pushSubscriptionSchema,
  sendPush,
  type VapidKeys,
} from "./push.ts";

const SUBJECT = "mailto:push@plaza.example";

async function withService(fn: (service: Awaited<ReturnType<typeof startPushService>>) => Promise<void>) {
  const service = await startPushService();
  try {
    await fn(service);
  } finally {
    await service.close();
  }
}

Deno.test("[push] generateVapidKeys gives a P-256 key pair for a mailto or https subject", () => {
  const keys: VapidKeys = generateVapidKeys(SUBJECT);
  assert.equal(keys.subject, SUBJECT);
  assert.equal(fromB64url(keys.publicKey).length, 65);
  assert.equal(fromB64url(keys.publicKey)[0], 0x04);
  assert.equal(fromB64url(keys.privateKey).length, 32);
  assert.notEqual(generateVapidKeys(SUBJECT).privateKey, keys.privateKey);
  assert.equal(generateVapidKeys("https://plaza.example/contact").subject, "https://plaza.example/contact");
  assert.throws(() => generateVapidKeys("push@plaza.example"), /subject/);
});

Deno.test("[push] the push service decrypts exactly what was sent, under a verified VAPID JWT", async () => {
  await withService(async (service) => {
    const vapid = generateVapidKeys(SUBJECT);
    const { subscription } = await service.subscribe({ applicationServerKey: vapid.publicKey });
    const message = JSON.stringify({ title: "Picnic moved", body: "Now at 3 pm 🎉🧺 — café by the lake" });

    const first = await sendPush(subscription, message, vapid, {
      ttlSeconds: 600,
      urgency: "high",
      topic: "event-42",
    });
    assert.deepEqual(first, { ok: true, status: 201, messageId: "/m/1" });
    const second = await sendPush(subscription, "plain text", vapid);
    assert.equal(second.ok, true);

    const endpointId = subscription.endpoint.split("/").pop();
    assert.deepEqual(service.received, [
      {
        endpointId,
        payload: message,
        headers: { ttl: 600, urgency: "high", topic: "event-42" },
        vapidSubject: SUBJECT,
      },
      {
        endpointId,
        payload: "plain text",
        headers: { ttl: 2419200, urgency: "normal", topic: null },
        vapidSubject: SUBJECT,
      },
    ]);
  });
});

Deno.test("[push] a push signed with another VAPID key is refused, not retried", async () => {
  await withService(async (service) => {
    const { subscription } = await service.subscribe({
      applicationServerKey: generateVapidKeys(SUBJECT).publicKey,
    });
    const result = await sendPush(subscription, "hello", generateVapidKeys(SUBJECT));
    assert.equal(result.ok, false);
    assert.deepEqual({ ...result, error: undefined }, {
      ok: false,
      status: 403,
      gone: false,
      retryable: false,
      error: undefined,
    });
    assert.equal(service.received.length, 0);
  });
});

Deno.test("[push] a payload at the RFC 8291 limit is delivered; one byte more throws before sending", async () => {
  await withService(async (service) => {
    const vapid = generateVapidKeys(SUBJECT);
    const { subscription } = await service.subscribe();
    const atLimit = "é".repeat((MAX_PUSH_PAYLOAD_BYTES - 1) / 2) + "x";
    assert.equal(new TextEncoder().encode(atLimit).length, MAX_PUSH_PAYLOAD_BYTES);

    assert.equal((await sendPush(subscription, atLimit, vapid)).ok, true);
    assert.equal(service.received[0].payload, atLimit);
    await assert.rejects(sendPush(subscription, atLimit + "x", vapid), /3994 bytes; the limit is 3993/);
    await assert.rejects(sendPush(subscription, "x".repeat(4078), vapid), /limit/);
    assert.equal(service.received.length, 1);
  });
});

Deno.test("[push] an expired or unknown subscription is gone", async () => {
  await withService(async (service) => {
    const vapid = generateVapidKeys(SUBJECT);
    const { subscription } = await service.subscribe();
    service.expire(subscription.endpoint);
    const expired = await sendPush(subscription, "hello", vapid);
    assert.deepEqual([expired.ok, expired.status], [false, 410]);
    assert.ok(!expired.ok && expired.gone && !expired.retryable);

    const unknown = await sendPush(
      { ...subscription, endpoint: `${service.url}/push/nobody` },
      "hello",
      vapid,
    );
    assert.ok(!unknown.ok && unknown.status === 404 && unknown.gone && !unknown.retryable);
    assert.equal(service.received.length, 0);
  });
});

Deno.test("[push] 500 and 429 are retryable, and a retry goes through", async () => {
  await withService(async (service) => {
    const vapid = generateVapidKeys(SUBJECT);
    const { subscription } = await service.subscribe();
    for (const status of [500, 503, 429]) {
      service.failNext(subscription.endpoint, status);
      const result = await sendPush(subscription, "hello", vapid);
      assert.ok(
        !result.ok && result.status === status && result.retryable && !result.gone,
        `status ${status}`,
      );
      assert.match(result.error, new RegExp(`${status}: injected failure`));
    }
    assert.equal((await sendPush(subscription, "hello", vapid)).ok, true);
    assert.equal(service.received.length, 1);
  });
});

Deno.test("[push] a refused connection is retryable with status 0", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const { subscription } = await withSubscription();
  const result = await sendPush(
    { ...subscription, endpoint: `http://127.0.0.1:${port}/push/x` },
    "hello",
    generateVapidKeys(SUBJECT),
  );
  assert.ok(!result.ok && result.status === 0 && result.retryable && !result.gone);
});

Deno.test("[push] a push service that does not answer in time is retryable with status 0", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await release.promise;
    return new Response(null, { status: 201 });
  });
  try {
    const { subscription } = await withSubscription();
    const endpoint = `http://127.0.0.1:${server.addr.port}/push/slow`;
    const started = Date.now();
    const result = await sendPush({ ...subscription, endpoint }, "hello", generateVapidKeys(SUBJECT), {
      timeoutMs: 100,
    });
    assert.ok(Date.now() - started < 2000);
    assert.ok(!result.ok && result.status === 0 && result.retryable);
    assert.match(result.error, /timed out/);
  } finally {
    release.resolve();
    await server.shutdown();
  }
});

/** Real subscription keys from the fixture, for tests that point the endpoint elsewhere. */
async function withSubscription() {
  const service = await startPushService();
  try {
    return await service.subscribe();
  } finally {
    await service.close();
  }
}

Deno.test("[push] the subscription schema accepts a browser's JSON and rejects bad keys and endpoints", async () => {
  const { subscription } = await withSubscription();
  const parse = (value: unknown) => pushSubscriptionSchema.safeParse(value).success;
  const withKeys = (keys: Record<string, string>) => ({
    ...subscription,
    keys: { ...subscription.keys, ...keys },
  });
  const point = fromB64url(subscription.keys.p256dh);

  assert.deepEqual(pushSubscriptionSchema.parse(subscription), subscription);
  assert.ok(parse({ ...subscription, expirationTime: null }));
  assert.ok(parse({ ...subscription, expirationTime: 1_900_000_000_000 }));
  assert.ok(parse({ ...subscription, endpoint: "https://fcm.googleapis.com/fcm/send/abc:def" }));
  assert.ok(parse({ ...subscription, endpoint: "http://localhost:8080/push/x" }));

  assert.ok(!parse(withKeys({ p256dh: b64url(point.slice(0, 64)) })), "64-byte p256dh");
  assert.ok(!parse(withKeys({ p256dh: b64url(new Uint8Array([0x03, ...point.slice(1)])) })), "not 0x04");
  assert.ok(!parse(withKeys({ auth: b64url(new Uint8Array(15)) })), "15-byte auth");
  assert.ok(!parse(withKeys({ auth: b64url(new Uint8Array(17)) })), "17-byte auth");
  assert.ok(!parse(withKeys({ auth: "AAAAAAAAAAAAAAAAAAAA+/" })), "base64, not base64url");
  assert.ok(!parse(withKeys({ p256dh: subscription.keys.p256dh.slice(0, -1) + "!" })), "bad character");
  assert.ok(!parse({ ...subscription, endpoint: "ftp://push.example/x" }), "ftp");
  assert.ok(!parse({ ...subscription, endpoint: "http://push.example/x" }), "plain http to another host");
  assert.ok(!parse({ ...subscription, endpoint: "https://user:pw@push.example/x" }), "credentials");
  assert.ok(!parse({ ...subscription, endpoint: `https://push.example/${"a".repeat(2048)}` }), "too long");
  assert.ok(!parse({ ...subscription, extra: 1 }), "extra field");
  assert.ok(!parse(withKeys({ extra: "x" })), "extra key field");
  assert.ok(!parse({ endpoint: subscription.endpoint }), "no keys");
});
