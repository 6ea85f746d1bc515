import assert from "node:assert/strict";
import { isSingleEmoji } from "./emoji.ts";

Deno.test("[chat] a reaction is exactly one emoji", () => {
  for (const ok of ["👍", "❤️", "🎉", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", "#️⃣", "🏳️‍🌈", "☕"]) {
    assert.equal(isSingleEmoji(ok), true, ok);
  }
  for (
    const bad of ["", "a", "ab", "👍👍", "👍 ", " 👍", "1", "🇫", "<b>", "🎉x", "x🎉", "\u0000", "👍\u0301"]
  ) {
    assert.equal(isSingleEmoji(bad), false, JSON.stringify(bad));
  }
});
