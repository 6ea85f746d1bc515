/** The page frame: skip link, header with navigation and account menu, main landmark, footer. */
import type { ComponentChildren } from "preact";
import type { NotificationBellProps } from "@/islands/NotificationBell.tsx";
import { NotificationBell } from "./islands.ts";

/** Who is signed in, as the layout shows it. */
export interface LayoutUser {
  name: string;
  email: string;
  role: "member" | "partner" | "admin";
}

/** Props for {@link Layout}. */
export interface LayoutProps {
  user: LayoutUser | null;
  /** Current path, to mark the active navigation link. */
  path: string;
  children: ComponentChildren;
  /** The bell's props, for signed-in pages. */
  bell?: NotificationBellProps;
}

function NavLink({ href, path, children }: { href: string; path: string; children: ComponentChildren }) {
  const active = href === "/" ? path === "/" : path.startsWith(href);
  return (
    <a href={href} aria-current={active ? "page" : undefined}>
      {children}
    </a>
  );
}

/** Admin pages, in one menu so the bar stays one line on a laptop and a phone. */
const ADMIN_PAGES: [string, string][] = [
  ["/admin/analytics", "Analytics"],
  ["/admin/reports", "SQL reports"],
  ["/admin/dispatch", "Dispatch"],
  ["/admin/users", "Users"],
  ["/admin/chat-reports", "Chat reports"],
  ["/admin/media", "Media moderation"],
  ["/admin/jobs", "Jobs"],
  ["/admin/outbox", "Outbox"],
  ["/admin/realtime", "Realtime"],
];

function AdminMenu({ path }: { path: string }) {
  const here = ADMIN_PAGES.some(([href]) => path.startsWith(href));
  return (
    <details class="account-menu admin-menu">
      <summary aria-label="Admin pages" class={here ? "active" : undefined}>Admin</summary>
      <div class="menu" role="group" aria-label="Admin pages">
        {ADMIN_PAGES.map(([href, label]) => (
          <a key={href} href={href} aria-current={path.startsWith(href) ? "page" : undefined}>{label}</a>
        ))}
      </div>
    </details>
  );
}

/** The layout every page renders inside. */
export function Layout({ user, path, children, bell }: LayoutProps) {
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="site-header">
        <nav class="nav" aria-label="Main">
          <a class="brand" href="/">
            <span aria-hidden="true" class="brand-mark">◆</span> Plaza
          </a>
          <div class="nav-links">
            <NavLink href="/" path={path}>Home</NavLink>
            <NavLink href="/events" path={path}>Events</NavLink>
            {user && <NavLink href="/chat" path={path}>Chat</NavLink>}
            {user && <NavLink href="/media" path={path}>Media</NavLink>}
            {user && <NavLink href="/orders" path={path}>Orders</NavLink>}
            {user?.role === "partner" && <NavLink href="/partner" path={path}>Deliveries</NavLink>}
            {user && <NavLink href="/profile" path={path}>Profile</NavLink>}
          </div>
          {user?.role === "admin" && <AdminMenu path={path} />}
          {user && bell && <NotificationBell {...bell} />}
          {user
            ? (
              <details class="account-menu">
                <summary aria-label={`Account menu for ${user.name}`}>
                  <span class="avatar" aria-hidden="true">{user.name.slice(0, 1).toUpperCase()}</span>
                  <span class="account-name">{user.name}</span>
                </summary>
                <div class="menu" role="group" aria-label="Account">
                  <p class="menu-email">{user.email}</p>
                  <p class="menu-role">Role: {user.role}</p>
                  <a href="/profile">Your profile</a>
                  <a href="/notifications">Notifications</a>
                  <a href="/settings/notifications">Notification settings</a>
                  <form method="post" action="/logout">
                    <button type="submit" class="link-button">Sign out</button>
                  </form>
                </div>
              </details>
            )
            : (
              <div class="nav-auth">
                <a href="/login">Sign in</a>
                <a class="button" href="/signup">Sign up</a>
              </div>
            )}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
      <footer class="site-footer">
        <p>Plaza: community, events and local services.</p>
      </footer>
    </>
  );
}
