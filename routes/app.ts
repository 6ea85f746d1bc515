/**
 * The HTTP application: middleware in order (request log, security headers, body limit, session,
 * CSRF), the API under /api/v1, pages, static files, one error handler.
 */
import { Hono } from "hono";
import { AppError } from "@/lib/errors.ts";
import { buildIslands, type IslandBundles } from "@/lib/islands/build.ts";
import type { Platform } from "@/lib/platform.ts";
import { adminApi } from "./api/admin.ts";
import { authApi } from "./api/auth.ts";
import { chatSettingsApi, dmsApi, messagesApi, reportsAdminApi, roomsApi, searchApi } from "./api/chat.ts";
import { eventsApi, myEventsApi } from "./api/events.ts";
import { meApi } from "./api/me.ts";
import { mediaAdminApi, mediaApi } from "./api/media.ts";
import { dispatchApi, ordersApi, sharedTrackApi } from "./api/orders.ts";
import { orderPages } from "./pages/orders.tsx";
import { trackPage } from "./pages/track.tsx";
import { partnerPage } from "./pages/partner.tsx";
import { dispatchPage } from "./pages/dispatch.tsx";
import { notificationsApi } from "./api/notifications.ts";
import { phoneApi } from "./api/phone.ts";
import { pushApi } from "./api/push.ts";
import { twilioWebhooks } from "./webhooks/twilio.ts";
import type { AppEnv } from "./env.ts";
import { health } from "./health.ts";
import { bodyLimit } from "./middleware/body_limit.ts";
import { csrf } from "./middleware/csrf.ts";
import { errorHandler } from "./middleware/error_handler.ts";
import { requestLog } from "./middleware/request_log.ts";
import { pageViews } from "./middleware/page_views.ts";
import { isLocalHost, securityHeaders } from "./middleware/security_headers.ts";
import { adminJobsPage } from "./pages/admin_jobs.tsx";
import { adminMediaPage } from "./pages/admin_media.tsx";
import { mediaPages } from "./pages/media.tsx";
import { adminOutboxPage } from "./pages/admin_outbox.tsx";
import { adminChatReportsPage } from "./pages/admin_chat_reports.tsx";
import { adminAnalyticsPage } from "./pages/admin_analytics.tsx";
import { adminSqlReportsPage } from "./pages/admin_sql_reports.tsx";
import { analyticsApi } from "./api/analytics.ts";
import { reportsApi } from "./api/reports.ts";
import { adminRealtimePage } from "./pages/admin_realtime.tsx";
import { chatPages } from "./pages/chat.tsx";
import { eventFormPages } from "./pages/event_forms.tsx";
import { eventOrganizerPages } from "./pages/event_organizer.tsx";
import { eventPages } from "./pages/events.tsx";
import { eventCalendarPages } from "./pages/events_calendar.tsx";
import { myEventsPages } from "./pages/my_events.tsx";
import { notificationPages } from "./pages/notifications.tsx";
import { adminUsersPage } from "./pages/admin_users.tsx";
import { calendarRoutes } from "./calendar.ts";
import { authPages } from "./pages/auth.tsx";
import { renderErrorPage } from "./pages/errors.tsx";
import { homePage } from "./pages/home.tsx";
import { profilePage } from "./pages/profile.tsx";
import { clientConfigApi, realtimeApi } from "./realtime.ts";
import { workerRoutes } from "./workers.ts";
import { mediaRoutes } from "./media.ts";
import type { JobHandler } from "@/lib/jobs/runner.ts";
import { ACCESS_COOKIE, REFRESH_COOKIE, session } from "./session.ts";
import { assetTable, loadStatic, staticRoutes } from "./static.ts";

/** Options for {@link createApp}; tests pass prebuilt bundles to skip rebuilding. */
export interface AppOptions {
  islands?: IslandBundles;
  /** Job handlers served at POST /workers/<name> (signed calls only). */
  workers?: JobHandler[];
}

/** Builds the Hono app for a platform. */
export async function createApp(platform: Platform, options: AppOptions = {}) {
  const { config } = platform;
  const islands = options.islands ?? await buildIslands(`${config.dataDir}/bundles`);
  const files = await loadStatic();
  const assets = assetTable(files, islands);
  const publicUrl = config.publicUrl ? new URL(config.publicUrl) : undefined;
  const onError = errorHandler(renderErrorPage);

  const app = new Hono<AppEnv>();
  // The WebSocket upgrade answers before any middleware: a 101 response takes no headers.
  app.get("/realtime/v1/websocket", (c) => platform.realtime.upgrade(c.req.raw));
  app.use(async (c, next) => {
    c.set("platform", platform);
    c.set("assets", assets);
    await next();
  });
  app.use(requestLog({ log: platform.log }));
  app.use(securityHeaders({ hsts: !!publicUrl && !isLocalHost(publicUrl.hostname) }));
  // Uploads (the API and the no-JS form) stream past the general limit; the upload enforces
  // PLAZA_MEDIA_MAX_BYTES as it reads.
  const limitBody = bodyLimit(config.maxBodyBytes);
  const uploads = new Set(["/api/v1/media", "/media"]);
  app.use((c, next) => c.req.method === "POST" && uploads.has(c.req.path) ? next() : limitBody(c, next));
  app.use(session());
  app.use(pageViews(platform.pageViews));
  app.use(csrf({
    publicOrigin: publicUrl?.origin,
    trustProxy: config.trustProxy,
    sessionCookies: [ACCESS_COOKIE, REFRESH_COOKIE],
  }));

  app.route("/health", health);
  app.route("/api/v1/auth", authApi);
  app.route("/api/v1/me", myEventsApi);
  app.route("/api/v1/me", meApi);
  app.route("/api/v1/events", eventsApi);
  app.route("/api/v1/admin/reports", reportsAdminApi);
  app.route("/api/v1/analytics", analyticsApi);
  app.route("/api/v1/reports", reportsApi);
  app.route("/api/v1/admin/media", mediaAdminApi);
  app.route("/api/v1/media", mediaApi);
  app.route("/api/v1/orders", ordersApi);
  app.route("/api/v1/dispatch", dispatchApi);
  app.route("/api/v1/track", sharedTrackApi);
  app.route("/api/v1/admin", adminApi);
  app.route("/api/v1/rooms", roomsApi);
  app.route("/api/v1/messages", messagesApi);
  app.route("/api/v1/dms", dmsApi);
  app.route("/api/v1/search", searchApi);
  app.route("/api/v1/chat", chatSettingsApi);
  app.route("/api/v1/notifications", notificationsApi);
  app.route("/api/v1/push", pushApi);
  app.route("/api/v1/phone", phoneApi);
  app.route("/webhooks/twilio", twilioWebhooks);
  app.route("/api/v1/client-config", clientConfigApi);
  app.route("/realtime/v1", realtimeApi);
  app.route("/", workerRoutes(options.workers ?? [], platform.workerKeys));
  app.route("/", staticRoutes(files, islands));
  app.route("/", mediaRoutes);
  app.route("/", homePage);
  app.route("/", authPages);
  app.route("/", profilePage);
  app.route("/", adminUsersPage);
  app.route("/", adminRealtimePage);
  app.route("/", adminJobsPage);
  app.route("/", adminOutboxPage);
  app.route("/", adminChatReportsPage);
  app.route("/", adminAnalyticsPage);
  app.route("/", adminSqlReportsPage);
  app.route("/", adminMediaPage);
  app.route("/", mediaPages);
  app.route("/", orderPages);
  app.route("/", trackPage);
  app.route("/", partnerPage);
  app.route("/", dispatchPage);
  app.route("/", notificationPages);
  app.route("/", chatPages);
  app.route("/", calendarRoutes);
  app.route("/", eventCalendarPages);
  app.route("/", eventFormPages);
  app.route("/", eventOrganizerPages);
  app.route("/", myEventsPages);
  app.route("/", eventPages);

  app.notFound((c) =>
    onError(new AppError(404, "not_found", `Nothing at ${c.req.method} ${c.req.path}.`), c)
  );
  app.onError(onError);
  return app;
}

/** The app type, for typed clients and tests. */
export type App = Awaited<ReturnType<typeof createApp>>;
