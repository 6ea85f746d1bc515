// Plaza's service worker: shows web push notifications and reports clicks.
// Payload (lib/notify/web_push.ts): {notification_id, title, body, url, click_url, actions}.

self.addEventListener("push", (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data) return;
  event.waitUntil(self.registration.showNotification(data.title, {
    body: data.body,
    icon: "/static/icon.svg",
    badge: "/static/icon.svg",
    tag: `plaza-${data.notification_id}`,
    data: { url: data.url, click_url: data.click_url },
    actions: Array.isArray(data.actions) ? data.actions.slice(0, 2) : [],
  }));
});

self.addEventListener("notificationclick", (event) => {
  const n = event.notification;
  n.close();
  const { url, click_url } = n.data || {};
  const report = click_url
    ? fetch(click_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: "{}",
    })
      .catch(() => {})
    : Promise.resolve();
  if (event.action === "read") {
    event.waitUntil(report);
    return;
  }
  const target = new URL(url || "/notifications", self.location.origin).href;
  event.waitUntil(Promise.all([
    report,
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const w of windows) {
        if (w.url === target && "focus" in w) return w.focus();
      }
      return self.clients.openWindow(target);
    }),
  ]));
});
