/**
 * The frame every benchmark run shares: a scratch directory, a bound on the whole run (whatever
 * hangs, the run cleans up and exits 2), and the same clean-up on SIGINT/SIGTERM (exit 130) and at
 * the end. Progress goes to stderr as `[bench:<name>] …`; figures go to stdout.
 */

/** A benchmark run in progress. */
export interface BenchRun {
  /** A fresh temporary directory, removed by {@link BenchRun.close}. */
  tmp: string;
  /** `performance.now()` when the run began. */
  began: number;
  progress(message: string): void;
  /** Cleans up (the caller's `cleanUp`, then `tmp`) and disarms the watchdog and signal handlers. */
  close(): Promise<void>;
}

/** Starts a run named `name`; `cleanUp` stops what the run started (servers, processes, databases). */
export async function benchRun(
  name: string,
  options: { watchdogSeconds: number; cleanUp: () => Promise<void> },
): Promise<BenchRun> {
  const tmp = await Deno.makeTempDir({ prefix: `plaza-${name}-bench-` });
  const progress = (message: string) => console.error(`[bench:${name}] ${message}`);
  const cleanUp = async () => {
    await options.cleanUp().catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  const watchdog = setTimeout(async () => {
    progress(`watchdog: still running after ${options.watchdogSeconds} s, stopping`);
    await cleanUp();
    Deno.exit(2);
  }, options.watchdogSeconds * 1000);
  const onSignal = async () => {
    progress("interrupted, cleaning up");
    await cleanUp();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return {
    tmp,
    began: performance.now(),
    progress,
    async close() {
      await cleanUp();
      clearTimeout(watchdog);
      Deno.removeSignalListener("SIGINT", onSignal);
      Deno.removeSignalListener("SIGTERM", onSignal);
    },
  };
}
