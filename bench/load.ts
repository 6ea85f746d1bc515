/**
 * A closed-loop HTTP load generator: `concurrency` workers each send one request, read the whole
 * body, and send the next, for a fixed time (after a warm-up whose results are dropped) and never
 * more than `maxRequests`. Latency is measured per request from `fetch` to the end of the body.
 */

/** What to load and for how long. */
export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  concurrency: number;
  /** Measured phase, in ms. */
  durationMs: number;
  /** Warm-up phase before it (not counted), in ms. */
  warmupMs: number;
  /** Upper bound on requests in the measured phase (the warm-up is bounded the same way). */
  maxRequests: number;
  /** Status a successful response has (default 200). */
  expectStatus?: number;
  /** A single request taking longer than this counts as an error and is abandoned (default 10 s). */
  requestTimeoutMs?: number;
}

/** The measured phase's results. */
export interface LoadResult {
  /** Successful requests. */
  ok: number;
  /** Requests that failed, timed out or had an unexpected status. */
  errors: number;
  /** Status codes of the unexpected responses, with counts. */
  badStatuses: Record<string, number>;
  /** First error message, if any. */
  firstError?: string;
  /** Wall time of the measured phase, from its start until the last worker finished, in ms. */
  elapsedMs: number;
  /** Successful requests per second. */
  rps: number;
  /** Latencies of successful requests, in ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Mean response body size in bytes (as received, after decompression). */
  meanBytes: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function phase(options: LoadOptions, durationMs: number): Promise<LoadResult> {
  const { url, concurrency, maxRequests, expectStatus = 200, requestTimeoutMs = 10_000 } = options;
  const headers = new Headers(options.headers ?? {});
  const latencies = new Float64Array(maxRequests);
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const badStatuses: Record<string, number> = {};
  const start = performance.now();
  const stopAt = start + durationMs;
  // One abort for the whole phase: a request still running well after the end is abandoned.
  const abort = new AbortController();
  const hardStop = setTimeout(
    () => abort.abort(new Error("load phase overran")),
    durationMs + requestTimeoutMs,
  );

  const worker = async () => {
    while (performance.now() < stopAt && issued < maxRequests && !abort.signal.aborted) {
      issued++;
      const t0 = performance.now();
      try {
        const res = await fetch(url, { headers, signal: abort.signal });
        const body = await res.arrayBuffer();
        const dt = performance.now() - t0;
        if (res.status === expectStatus && dt <= requestTimeoutMs) {
          latencies[ok++] = dt;
          bytes += body.byteLength;
        } else {
          errors++;
          badStatuses[res.status] = (badStatuses[res.status] ?? 0) + 1;
          firstError ??= `HTTP ${res.status} after ${dt.toFixed(1)} ms`;
        }
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    clearTimeout(hardStop);
  }
  const elapsedMs = performance.now() - start;
  const sorted = latencies.slice(0, ok).sort();
  return {
    ok,
    errors,
    badStatuses,
    firstError,
    elapsedMs,
    rps: ok / (elapsedMs / 1000),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    meanBytes: ok ? bytes / ok : 0,
  };
}

/** Runs the warm-up, then the measured phase, and returns the latter's results. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupMs > 0) await phase(options, options.warmupMs);
  return await phase(options, options.durationMs);
}
