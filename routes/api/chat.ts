/**
 * Chat API (docs/chat.md): rooms and members, DMs, messages, reactions, read positions, search,
 * reports and the admins' report queue. Thin: validate -> lib/chat -> respond.
 */
import { Hono } from "hono";
import { z } from "zod";
import { isSingleEmoji } from "@/lib/chat/emoji.ts";
import { afterPost, afterRead } from "@/lib/chat/fanout.ts";
import {
  deleteMessage,
  editMessage,
  listMessages,
  markRoomRead,
  MAX_BODY,
  postMessage,
  searchMessages,
  setReaction,
} from "@/lib/chat/messages.ts";
import { listReports, reportMessage, resolveReport } from "@/lib/chat/moderation.ts";
import {
  addMember,
  createRoom,
  getRoom,
  joinRoom,
  listRooms,
  loadChatSettings,
  muteMember,
  openDm,
  removeMember,
  saveChatSettings,
  updateRoom,
} from "@/lib/chat/rooms.ts";
import { notFound } from "@/lib/errors.ts";
import type { RateLimitRule } from "@/lib/kv/rate_limit.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { requireAdmin, requireUser } from "../session.ts";
import { rateLimit } from "../rate_limit.ts";
import { check, readJson, readQuery, text } from "../validate.ts";

/** Per-person limits on chat writes. */
export const chatRules = {
  post: { name: "chat-post", limit: 60, windowSeconds: 60 },
  write: { name: "chat-write", limit: 120, windowSeconds: 60 },
  createRoom: { name: "chat-room-create", limit: 20, windowSeconds: 3600 },
  dm: { name: "chat-dm-open", limit: 60, windowSeconds: 3600 },
  report: { name: "chat-report", limit: 20, windowSeconds: 3600 },
} satisfies Record<string, RateLimitRule>;

const uuid = z.uuid();
const messageId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A room id from the path; anything that is not a UUID names no room. */
function roomParam(c: Ctx, name = "id"): string {
  const parsed = uuid.safeParse(c.req.param(name));
  if (!parsed.success) throw notFound("No such room.");
  return parsed.data;
}

function messageParam(c: Ctx): number {
  const parsed = messageId.safeParse(c.req.param("id"));
  if (!parsed.success) throw notFound("No such message.");
  return parsed.data;
}

const createRoomSchema = z.strictObject({
  name: text(1, 80).transform((s) => s.trim()),
  kind: z.enum(["public", "private"]),
  topic: text(0, 250).optional(),
});
const updateRoomSchema = z.strictObject({
  name: text(1, 80).transform((s) => s.trim()).optional(),
  topic: text(0, 250).optional(),
}).refine((b) => b.name !== undefined || b.topic !== undefined, "Give a name or a topic.");
const addMemberSchema = z.strictObject({
  user_id: uuid,
  role: z.enum(["member", "moderator"]).default("member"),
});
const muteSchema = z.strictObject({ user_id: uuid, minutes: z.number().int().min(0).max(60 * 24 * 30) });
const dmSchema = z.strictObject({ user_id: uuid });
const pageQuery = z.strictObject({
  before: messageId.optional(),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
}).refine((q) => q.before === undefined || q.after === undefined, "Use before or after, not both.");

/** A new message. */
export const postSchema = z.strictObject({
  body: text(0, MAX_BODY),
  client_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "Use 1-100 letters, digits, '_', '-', '.' or ':'."),
  reply_to: messageId.optional(),
  kind: z.enum(["text", "location"]).default("text"),
  data: z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) }).optional(),
  attachments: z.array(z.strictObject({ media_id: uuid })).max(10, "At most 10 attachments.").optional(),
}).superRefine((b, ctx) => {
  if (b.body.trim().length === 0 && !b.attachments?.length) {
    ctx.addIssue({ code: "custom", path: ["body"], message: "Must not be empty." });
  }
  if (b.attachments?.length && b.kind !== "text") {
    ctx.addIssue({ code: "custom", path: ["attachments"], message: "Only text messages carry attachments." });
  }
  if (b.kind === "location" && !b.data) {
    ctx.addIssue({ code: "custom", path: ["data"], message: "A location message needs data: {lat, lng}." });
  }
  if (b.kind === "text" && b.data) {
    ctx.addIssue({ code: "custom", path: ["data"], message: "Only location messages carry data." });
  }
});
const editSchema = z.strictObject({ body: text(1, MAX_BODY) });
const reactionSchema = z.strictObject({
  emoji: z.string().refine(isSingleEmoji, "Use exactly one emoji."),
});
const readSchema = z.strictObject({ message_id: messageId });
const searchQuery = z.strictObject({
  q: text(1, 200),
  room_id: uuid.optional(),
  before: messageId.optional(),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});
const reportSchema = z.strictObject({ reason: text(1, 500).transform((s) => s.trim()) });
const settingsSchema = z.strictObject({ read_receipts: z.boolean() });
const reportsQuery = z.strictObject({
  status: z.enum(["open", "dismissed", "actioned", "all"]).default("open"),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const resolveSchema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("dismiss") }),
  z.strictObject({ action: z.literal("delete_message") }),
  z.strictObject({ action: z.literal("mute_author"), minutes: z.number().int().min(1).max(60 * 24 * 30) }),
]);

/** `/api/v1/rooms`. */
export const roomsApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = requireUser(c);
    return c.json({ rooms: await listRooms(c.var.platform.db, claims) });
  })
  .post("/", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, createRoomSchema);
    await rateLimit(c, chatRules.createRoom, claims.sub);
    return c.json(await createRoom(c.var.platform.db, claims, body), 201);
  })
  .get("/:id", async (c) => {
    const claims = requireUser(c);
    return c.json(await getRoom(c.var.platform.db, claims, roomParam(c)));
  })
  .patch("/:id", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const body = await readJson(c, updateRoomSchema);
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await updateRoom(c.var.platform.db, claims, id, body));
  })
  .post("/:id/join", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await joinRoom(c.var.platform.db, claims, id));
  })
  .post("/:id/members", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const body = await readJson(c, addMemberSchema);
    await rateLimit(c, chatRules.write, claims.sub);
    const { member, created } = await addMember(c.var.platform.db, claims, id, {
      userId: body.user_id,
      role: body.role,
    });
    return c.json(member, created ? 201 : 200);
  })
  .delete("/:id/members/:userId", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const userId = uuid.safeParse(c.req.param("userId"));
    if (!userId.success) throw notFound("That person is not a member.");
    await rateLimit(c, chatRules.write, claims.sub);
    await removeMember(c.var.platform.db, claims, id, userId.data);
    return c.body(null, 204);
  })
  .post("/:id/mute", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const body = await readJson(c, muteSchema);
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await muteMember(c.var.platform.db, claims, id, body.user_id, body.minutes));
  })
  .get("/:id/messages", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const q = readQuery(c, pageQuery);
    return c.json(await listMessages(c.var.platform.db, claims, id, q));
  })
  .post("/:id/messages", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const body = await readJson(c, postSchema);
    await rateLimit(c, chatRules.post, claims.sub);
    const { platform } = c.var;
    const posted = await postMessage(platform.db, claims, id, {
      body: body.body,
      clientId: body.client_id,
      replyTo: body.reply_to,
      kind: body.kind,
      data: body.data ?? null,
      attachments: body.attachments?.map((a) => ({ media_id: a.media_id.toLowerCase() })),
    });
    await afterPost(platform, posted);
    return c.json(posted.message, posted.created ? 201 : 200);
  })
  .post("/:id/read", async (c) => {
    const claims = requireUser(c);
    const id = roomParam(c);
    const body = await readJson(c, readSchema);
    const { platform } = c.var;
    const { moved, ...read } = await markRoomRead(platform.db, claims, id, body.message_id);
    if (moved) await afterRead(platform, claims.sub, read);
    return c.json(read);
  });

/** `/api/v1/messages`. */
export const messagesApi = new Hono<AppEnv>()
  .patch("/:id", async (c) => {
    const claims = requireUser(c);
    const id = messageParam(c);
    const body = await readJson(c, editSchema);
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await editMessage(c.var.platform.db, claims, id, body.body));
  })
  .delete("/:id", async (c) => {
    const claims = requireUser(c);
    const id = messageParam(c);
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await deleteMessage(c.var.platform.db, claims, id));
  })
  .post("/:id/reactions", async (c) => {
    const claims = requireUser(c);
    const id = messageParam(c);
    const body = await readJson(c, reactionSchema);
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await setReaction(c.var.platform.db, claims, id, body.emoji, true));
  })
  .delete("/:id/reactions/:emoji", async (c) => {
    const claims = requireUser(c);
    const id = messageParam(c);
    const emoji = check(reactionSchema.shape.emoji, c.req.param("emoji"), "emoji");
    await rateLimit(c, chatRules.write, claims.sub);
    return c.json(await setReaction(c.var.platform.db, claims, id, emoji, false));
  })
  .post("/:id/report", async (c) => {
    const claims = requireUser(c);
    const id = messageParam(c);
    const body = await readJson(c, reportSchema);
    await rateLimit(c, chatRules.report, claims.sub);
    const report = await reportMessage(c.var.platform.db, claims, id, body.reason);
    return c.json({ id: report.id, status: "open" }, report.created ? 201 : 200);
  });

/** `/api/v1/dms`. */
export const dmsApi = new Hono<AppEnv>()
  .post("/", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, dmSchema);
    await rateLimit(c, chatRules.dm, claims.sub);
    const { room, created } = await openDm(c.var.platform.db, claims, body.user_id);
    return c.json(room, created ? 201 : 200);
  });

/** `/api/v1/search`. */
export const searchApi = new Hono<AppEnv>()
  .get("/messages", async (c) => {
    const claims = requireUser(c);
    const q = readQuery(c, searchQuery);
    return c.json(await searchMessages(c.var.platform.db, claims, { ...q, roomId: q.room_id }));
  });

/** `/api/v1/chat`: the caller's chat settings. */
export const chatSettingsApi = new Hono<AppEnv>()
  .get("/settings", async (c) => {
    const claims = requireUser(c);
    return c.json(await loadChatSettings(c.var.platform.db, claims));
  })
  .put("/settings", async (c) => {
    const claims = requireUser(c);
    const body = await readJson(c, settingsSchema);
    return c.json(await saveChatSettings(c.var.platform.db, claims, body));
  });

/** `/api/v1/admin/reports`: the moderation queue. */
export const reportsAdminApi = new Hono<AppEnv>()
  .get("/", async (c) => {
    const claims = await requireAdmin(c);
    const q = readQuery(c, reportsQuery);
    return c.json(await listReports(c.var.platform.db, claims, q));
  })
  .post("/:id", async (c) => {
    const claims = await requireAdmin(c);
    const id = check(z.coerce.number().int().positive(), c.req.param("id"), "report id");
    const body = await readJson(c, resolveSchema);
    return c.json(await resolveReport(c.var.platform.db, claims, id, body));
  });
