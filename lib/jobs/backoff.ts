/** Retry delays after the 1st, 2nd, … failure: about 12 s, 2.5 min, 30 min, 6 h, then 24 h. */
export const RETRY_DELAYS_SECONDS = [12, 150, 1800, 21_600, 86_400];

/** Seconds to wait before attempt `attempts + 1`, with ±10 % jitter so retries do not stampede. */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const base = RETRY_DELAYS_SECONDS[Math.min(Math.max(attempts, 1), RETRY_DELAYS_SECONDS.length) - 1];
  return Math.round(base * (0.9 + random() * 0.2));
}
