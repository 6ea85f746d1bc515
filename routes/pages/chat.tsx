/**
 * `/chat` and `/chat/:roomId`: the ChatApp island for signed-in members (both paths render the
 * same island; the room id only picks the room it opens). The island loads rooms and messages
 * from the API; without JavaScript the page says chat needs it.
 */
import { Hono } from "hono";
import { ChatApp } from "@/components/islands.ts";
import { isUuid } from "@/lib/client/chat_state.ts";
import { notFound } from "@/lib/errors.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { layoutUser, renderPage } from "../render.tsx";
import { clientConfig } from "../realtime.ts";

function chatPage(c: Ctx, roomId: string | null): Response {
  const claims = c.var.claims;
  if (!claims) return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
  const user = layoutUser(c)!;
  return renderPage(
    c,
    <>
      <noscript>
        <p class="card">Chat needs JavaScript: turn it on to read and send messages.</p>
      </noscript>
      <ChatApp
        {...clientConfig(c, c.var.platform)}
        me={{ id: claims.sub, name: user.name }}
        appRole={user.role}
        roomId={roomId}
      />
    </>,
    { title: "Chat" },
  );
}

/** Chat page routes. */
export const chatPages = new Hono<AppEnv>()
  .get("/chat", (c) => chatPage(c, null))
  .get("/chat/:roomId", (c) => {
    const roomId = c.req.param("roomId");
    if (!isUuid(roomId)) throw notFound("There is no such conversation.");
    return chatPage(c, roomId.toLowerCase());
  });
