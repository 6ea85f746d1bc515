/** The home page: what Plaza is for visitors; newest members and shortcuts for signed-in people. */
import { Hono } from "hono";
import { OnlineMembers } from "@/components/islands.ts";
import { type Profile, recentMembers } from "@/lib/profiles.ts";
import { clientConfig } from "../realtime.ts";
import type { AppEnv } from "../env.ts";
import { layoutUser, renderPage } from "../render.tsx";

function Welcome() {
  return (
    <section class="hero">
      <h1>Your neighbourhood, live.</h1>
      <p class="lead">
        Plaza brings members, events and local services together: chat with your community, RSVP to what is
        happening nearby, and follow your courier on the map as they arrive.
      </p>
      <p class="row">
        <a class="button" href="/signup">Create an account</a>
        <a href="/login">Sign in</a>
      </p>
    </section>
  );
}

function MemberCard({ profile }: { profile: Profile }) {
  return (
    <li class="member">
      {profile.avatar_url
        ? <img class="avatar" src={profile.avatar_url} alt="" width={40} height={40} loading="lazy" />
        : <span class="avatar" aria-hidden="true">{profile.name.slice(0, 1).toUpperCase()}</span>}
      <div>
        <strong>{profile.name}</strong>
        {profile.bio && <p class="muted clamp">{profile.bio}</p>}
      </div>
    </li>
  );
}

/** Home page route. */
export const homePage = new Hono<AppEnv>().get("/", async (c) => {
  const claims = c.var.claims;
  if (!claims) return renderPage(c, <Welcome />, { title: "Welcome" });
  const user = layoutUser(c)!;
  const members = await recentMembers(c.var.platform.db, claims);
  return renderPage(
    c,
    <>
      <section class="card">
        <h1>Hello, {user.name}</h1>
        <p class="muted">Signed in as {user.email} ({user.role}).</p>
        <p class="row">
          <a class="button" href="/profile">Edit your profile</a>
          {user.role === "admin" && <a href="/admin/users">Manage users</a>}
        </p>
      </section>
      <OnlineMembers {...clientConfig(c, c.var.platform)} me={{ id: claims.sub, name: user.name }} />
      <section class="card" aria-labelledby="members-heading">
        <h2 id="members-heading">Newest members</h2>
        <ul class="member-list">
          {members.map((m) => <MemberCard key={m.id} profile={m} />)}
        </ul>
      </section>
    </>,
    { title: "Home" },
  );
});
