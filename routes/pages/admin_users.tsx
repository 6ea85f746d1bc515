/** `/admin/users`: the user list with a role picker per user (a plain form per row). */
import { Hono } from "hono";
import { z } from "zod";
import { listUsers, setUserRole } from "@/lib/admin_users.ts";
import { type Role, ROLES } from "@/lib/auth/service.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireRole } from "../session.ts";
import { check, readForm, readQuery } from "../validate.ts";

const PAGE = 50;

/** Admin user pages. */
export const adminUsersPage = new Hono<AppEnv>()
  .get("/admin/users", async (c) => {
    if (!c.var.claims) return c.redirect(`/login?next=${encodeURIComponent("/admin/users")}`, 303);
    const claims = requireRole(c, "admin");
    const { after } = readQuery(c, z.object({ after: z.string().max(254).optional() }));
    const users = await listUsers(c.var.platform.db, claims, { after, limit: PAGE });
    const changed = c.req.query("changed");
    return renderPage(
      c,
      <section class="card">
        <h1>Users</h1>
        {changed && <p class="notice" role="status">Role updated for {changed}.</p>}
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Joined</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>{u.name}</td>
                  <td>{u.email}</td>
                  <td>
                    <time dateTime={u.created_at}>{u.created_at.slice(0, 10)}</time>
                  </td>
                  <td>
                    <form method="post" action={`/admin/users/${u.id}/role`} class="row tight">
                      <label class="sr-only" for={`role-${u.id}`}>Role for {u.email}</label>
                      <select id={`role-${u.id}`} name="role">
                        {ROLES.map((r: Role) => (
                          <option key={r} value={r} selected={r === u.role}>{r}</option>
                        ))}
                      </select>
                      <button type="submit" class="small">Save</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {users.length === PAGE && (
          <p>
            <a href={`/admin/users?after=${encodeURIComponent(users[users.length - 1].email)}`}>Next page</a>
          </p>
        )}
      </section>,
      { title: "Users" },
    );
  })
  .post("/admin/users/:id/role", async (c) => {
    const claims = requireRole(c, "admin");
    const id = check(z.uuid(), c.req.param("id"), "user id");
    const { role } = await readForm(c, z.object({ role: z.enum(ROLES) }));
    const updated = await setUserRole(c.var.platform.db, claims, id, role);
    return c.redirect(`/admin/users?changed=${encodeURIComponent(updated.email)}`, 303);
  });
