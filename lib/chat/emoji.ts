/** Reactions are one emoji: a single grapheme that is a pictograph, a flag or a keycap. */

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
const PARTS =
  /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200D\uFE0E\uFE0F\u20E3\u{E0020}-\u{E007F}#*0-9]+$/u;
const KEYCAP = /^[#*0-9]\uFE0F?\u20E3$/u;
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[#*0-9]\uFE0F?\u20E3)/u;

/** True when `text` is exactly one emoji (with its modifiers, joiners and variation selectors). */
export function isSingleEmoji(text: string): boolean {
  if (!text || text.length > 32) return false;
  const graphemes = [...segmenter.segment(text)];
  if (graphemes.length !== 1) return false;
  const g = graphemes[0].segment;
  // Every code point must belong to an emoji sequence: no letters or combining marks smuggled in.
  return PARTS.test(g) && EMOJI.test(g) && (!/[#*0-9]/.test(g) || KEYCAP.test(g));
}
