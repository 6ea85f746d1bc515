/** The profile page: the ProfileEditor island, with a plain form POST as the no-JavaScript path. */
import { Hono } from "hono";
import { z } from "zod";
import { ProfileEditor } from "@/components/islands.ts";
import { FormAlert } from "@/components/forms.tsx";
import { getOwnProfile, updateOwnProfile } from "@/lib/profiles.ts";
import { AppError } from "@/lib/errors.ts";
import { profilePatchSchema } from "../api/me.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { renderPage } from "../render.tsx";
import { renewCookieSession, requireUser } from "../session.ts";
import { check, readForm } from "../validate.ts";

function ProfilePage(
  { name, bio, avatar_url, email, message, error }: {
    name: string;
    bio: string;
    avatar_url: string;
    email: string;
    message?: string;
    error?: string;
  },
) {
  return (
    <section class="card narrow">
      <h1>Your profile</h1>
      <FormAlert message={error} />
      {message && <p class="notice" role="status">{message}</p>}
      <ProfileEditor name={name} bio={bio} avatar_url={avatar_url} email={email} />
    </section>
  );
}

function signInRedirect(c: Ctx) {
  return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
}

/** Profile page routes. */
export const profilePage = new Hono<AppEnv>()
  .get("/profile", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const p = await getOwnProfile(c.var.platform.db, claims);
    return renderPage(
      c,
      <ProfilePage name={p.name} bio={p.bio} avatar_url={p.avatar_url ?? ""} email={claims.email ?? ""} />,
      { title: "Your profile" },
    );
  })
  .post("/profile", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const values = await readForm(c, z.record(z.string(), z.string()));
    try {
      const patch = check(profilePatchSchema, {
        name: values.name,
        bio: values.bio ?? "",
        avatar_url: values.avatar_url ? values.avatar_url : null,
      }, "form");
      const p = await updateOwnProfile(c.var.platform.db, claims, patch);
      await renewCookieSession(c);
      return renderPage(
        c,
        <ProfilePage
          name={p.name}
          bio={p.bio}
          avatar_url={p.avatar_url ?? ""}
          email={claims.email ?? ""}
          message="Saved."
        />,
        { title: "Your profile" },
      );
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      return renderPage(
        c,
        <ProfilePage
          name={values.name ?? ""}
          bio={values.bio ?? ""}
          avatar_url={values.avatar_url ?? ""}
          email={claims.email ?? ""}
          error={err.message}
        />,
        { title: "Your profile", status: err.status },
      );
    }
  });
