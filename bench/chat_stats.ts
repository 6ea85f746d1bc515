/** Percentiles and formatting for the chat benchmark (bench/chat.ts). */

/** Summary of a set of latencies in milliseconds. */
export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of `samples`. */
export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : NaN;
  return {
    n: s.length,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
  };
}

/** Milliseconds with two decimals, or a dash. */
export function ms(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? "—" : n.toFixed(2);
}

/** `value` against a target `limit` (both ms): "met (0.45 × target)" or "**not met** (2.1 × target)". */
export function verdict(value: number, limit: number): string {
  if (Number.isNaN(value)) return "—";
  const ratio = value / limit;
  return `${value <= limit ? "met" : "**not met**"} (${ratio.toFixed(2)} × target)`;
}

/** An integer with thousands separators. */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
