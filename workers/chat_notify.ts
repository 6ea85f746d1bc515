/** `chat-notify`: DM and mention notifications for people who have not read the message (lib/chat/fanout.ts). */
import { z } from "zod";
import { CHAT_NOTIFY_JOB, notifyChatMessage } from "@/lib/chat/fanout.ts";
import { defineJob } from "@/lib/jobs/runner.ts";
import type { Platform } from "@/lib/platform.ts";

/** The handler, bound to a platform. */
export const chatNotify = (platform: Platform) =>
  defineJob({
    name: CHAT_NOTIFY_JOB,
    payload: z.strictObject({ message_id: z.number().int().positive() }),
    run: (p) => notifyChatMessage(platform, p.message_id),
  });
