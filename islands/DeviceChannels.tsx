/**
 * The channels that need the browser: web push on this device (service worker, permission,
 * subscription sent to the server), the phone number for texts (code by SMS, then confirm), and a
 * test notification to see it all work.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";

/** Props: the phone state the server knows. */
export interface DeviceChannelsProps {
  [key: string]: unknown;
  phone: { phone: string | null; sms_opt_in: boolean; stopped: boolean; pending: string | null };
  smsProvider: boolean;
}

type PushState = "checking" | "unsupported" | "denied" | "off" | "on" | "working";

async function call<T>(path: string, method: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data?.error?.message ?? `HTTP ${res.status}`);
  return data as T;
}

const keyBytes = (b64url: string) => {
  const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - b64url.length % 4) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};

/** Push, phone and test controls. */
export default function DeviceChannels({ phone: initialPhone, smsProvider }: DeviceChannelsProps) {
  const push = useSignal<PushState>("checking");
  const pushError = useSignal("");
  const phone = useSignal(initialPhone);
  const number = useSignal("");
  const code = useSignal("");
  const phoneMsg = useSignal<{ kind: "error" | "notice"; text: string } | null>(null);
  const testMsg = useSignal("");

  useEffect(() => {
    (async () => {
      if (!("serviceWorker" in navigator) || !("PushManager" in globalThis)) {
        push.value = "unsupported";
        return;
      }
      if (Notification.permission === "denied") {
        push.value = "denied";
        return;
      }
      const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      const sub = await reg.pushManager.getSubscription();
      push.value = sub ? "on" : "off";
    })().catch(() => push.value = "unsupported");
  }, []);

  const enablePush = async () => {
    pushError.value = "";
    push.value = "working";
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        push.value = permission === "denied" ? "denied" : "off";
        return;
      }
      const { public_key } = await call<{ public_key: string }>("/api/v1/push/public-key", "GET");
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(public_key),
      });
      await call("/api/v1/push/subscriptions", "POST", { subscription: sub.toJSON() });
      push.value = "on";
    } catch (err) {
      pushError.value = `Could not turn on notifications here: ${(err as Error).message}`;
      push.value = "off";
    }
  };
  const disablePush = async () => {
    push.value = "working";
    try {
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await call("/api/v1/push/subscriptions", "DELETE", { endpoint: sub.endpoint }).catch(() => {});
        await sub.unsubscribe();
      }
      push.value = "off";
    } catch (err) {
      pushError.value = (err as Error).message;
      push.value = "on";
    }
  };

  const sendCode = async (e: Event) => {
    e.preventDefault();
    phoneMsg.value = null;
    try {
      const r = await call<{ pending: string }>("/api/v1/phone", "POST", { phone: number.value });
      phone.value = { ...phone.value, pending: r.pending };
      phoneMsg.value = { kind: "notice", text: `We sent a 6-digit code to ${r.pending}.` };
    } catch (err) {
      phoneMsg.value = { kind: "error", text: (err as Error).message };
    }
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    phoneMsg.value = null;
    try {
      phone.value = await call("/api/v1/phone/verify", "POST", { code: code.value.trim() });
      code.value = "";
      phoneMsg.value = { kind: "notice", text: "Your number is verified." };
    } catch (err) {
      phoneMsg.value = { kind: "error", text: (err as Error).message };
    }
  };
  const setOptIn = async (on: boolean) => {
    try {
      phone.value = await call("/api/v1/phone", "PATCH", { sms_opt_in: on });
    } catch (err) {
      phoneMsg.value = { kind: "error", text: (err as Error).message };
    }
  };
  const remove = async () => {
    phone.value = await call("/api/v1/phone", "DELETE");
    phoneMsg.value = { kind: "notice", text: "Number removed." };
  };
  const test = async () => {
    try {
      await call("/api/v1/notifications/test", "POST", {});
      testMsg.value = "Sent. Watch the bell (and this device, if push is on).";
    } catch (err) {
      testMsg.value = (err as Error).message;
    }
  };

  const p = phone.value;
  return (
    <div class="stack" data-testid="device-channels">
      <section aria-labelledby="push-heading">
        <h2 id="push-heading">Push on this device</h2>
        {push.value === "unsupported" && <p class="muted">This browser cannot receive push notifications.</p>}
        {push.value === "denied" && (
          <p class="muted">
            Notifications are blocked for this site. Allow them in the browser's site settings.
          </p>
        )}
        {push.value === "off" && <button type="button" onClick={enablePush}>Turn on push here</button>}
        {push.value === "on" && (
          <p>
            Push is on for this device.{" "}
            <button type="button" class="link-button" onClick={disablePush}>Turn off</button>
          </p>
        )}
        {(push.value === "checking" || push.value === "working") && <p class="muted">…</p>}
        {pushError.value && <p class="error" role="alert">{pushError.value}</p>}
      </section>

      <section aria-labelledby="phone-heading">
        <h2 id="phone-heading">Text messages</h2>
        {!smsProvider && (
          <p class="muted">Texts are kept in the admin outbox on this server (no SMS provider).</p>
        )}
        {p.phone && (
          <p>
            {p.phone} is verified. {p.stopped
              ? <strong>You replied STOP; text START to {p.phone ? "our number" : ""} to resume.</strong>
              : p.sms_opt_in
              ? <button type="button" class="link-button" onClick={() => setOptIn(false)}>Stop texts</button>
              : <button type="button" class="link-button" onClick={() => setOptIn(true)}>Allow texts</button>}
            {" · "}
            <button type="button" class="link-button" onClick={remove}>Remove number</button>
          </p>
        )}
        <form class="row" onSubmit={sendCode}>
          <label for="phone-number">{p.phone ? "Change number" : "Phone number"}</label>
          <input
            id="phone-number"
            type="tel"
            autocomplete="tel"
            inputMode="tel"
            placeholder="+14155550100"
            value={number.value}
            onInput={(e) => number.value = (e.target as HTMLInputElement).value}
            required
          />
          <button type="submit">Send code</button>
        </form>
        {p.pending && (
          <form class="row" onSubmit={confirm}>
            <label for="phone-code">Code sent to {p.pending}</label>
            <input
              id="phone-code"
              inputMode="numeric"
              autocomplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              value={code.value}
              onInput={(e) => code.value = (e.target as HTMLInputElement).value}
              required
            />
            <button type="submit">Verify</button>
          </form>
        )}
        {phoneMsg.value && (
          <p class={phoneMsg.value.kind} role={phoneMsg.value.kind === "error" ? "alert" : "status"}>
            {phoneMsg.value.text}
          </p>
        )}
      </section>

      <section aria-labelledby="test-heading">
        <h2 id="test-heading">Try it</h2>
        <button type="button" class="secondary" onClick={test}>Send me a test notification</button>
        {testMsg.value && <p class="notice" role="status">{testMsg.value}</p>}
      </section>
    </div>
  );
}
