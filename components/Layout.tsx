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
            {user?.role === "admin" && <NavLink href="/admin/users" path={path}>Users</NavLink>}
            {user?.role === "admin" && <NavLink href="/admin/realtime" path={path}>Realtime</NavLink>}
            {user?.role === "admin" && <NavLink href="/admin/jobs" path={path}>Jobs</NavLink>}
            {user?.role === "admin" && <NavLink href="/admin/outbox" path={path}>Outbox</NavLink>}
            {user?.role === "admin" && <NavLink href="/admin/reports" path={path}>Reports</NavLink>}
            {user?.role === "admin" && <NavLink href="/admin/media" path={path}>Moderation</NavLink>}
            {user?.role === "admin" && <NavLink href="/admin/dispatch" path={path}>Dispatch</NavLink>}
          </div>
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
