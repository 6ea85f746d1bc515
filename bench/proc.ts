/**
 * Subprocesses for the benchmark: spawn `deno` with a script, keep the tail of its output for error
 * messages, wait until an HTTP endpoint answers, read its memory, and stop it (SIGTERM, then SIGKILL).
 * Every spawned process is tracked so {@link stopAll} can end them all on the way out.
 */

/** A spawned process. */
export interface Proc {
  name: string;
  pid: number;
  child: Deno.ChildProcess;
  /** Resolves when the process has exited. */
  status: Promise<Deno.CommandStatus>;
  /** True once it has exited. */
  exited(): boolean;
  /** The last few KB of its stdout and stderr. */
  output(): string;
}

const running = new Set<Proc>();
const TAIL_BYTES = 8192;

/** Starts `deno <args>` with `env` (merged into the bench's environment) in `cwd`. */
export function spawnDeno(name: string, args: string[], env: Record<string, string>, cwd: string): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  let done = false;
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_BYTES);
      }
    } catch {
      // The stream ends with the process.
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    status: child.status.then(async (s) => {
      done = true;
      running.delete(proc);
      await drained;
      return s;
    }),
    exited: () => done,
    output: () => tail.trim(),
  };
  running.add(proc);
  return proc;
}

/** Stops a process: SIGTERM, then SIGKILL after `graceMs`. Resolves with its exit status. */
export async function stop(proc: Proc, graceMs = 10_000): Promise<Deno.CommandStatus> {
  if (!proc.exited()) {
    try {
      proc.child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        proc.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      resolve();
    }, graceMs);
  });
  try {
    await Promise.race([proc.status, killed]);
    return await proc.status;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops every process still running (each by its own pid). */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all([...running].map((p) => stop(p, graceMs).catch(() => {})));
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `url` every `intervalMs` until it answers 200; returns `performance.now()` at that moment.
 * Fails when the process exits first or after `timeoutMs`.
 */
export async function waitForOk(
  proc: Proc,
  url: string,
  timeoutMs = 60_000,
  intervalMs = 5,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last = "no answer";
  while (performance.now() < deadline) {
    if (proc.exited()) {
      const { code } = await proc.status;
      throw new Error(`${proc.name} exited with code ${code} before ${url} answered:\n${proc.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) return performance.now();
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(intervalMs);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last}):\n${proc.output()}`);
}

/**
 * Reads /proc through `sh`: Deno lets only --allow-all read /proc directly, and the bench task runs
 * with --allow-run but not --allow-all. `script` gets the pid as $1. Empty output when unavailable.
 */
async function procShell(script: string, pid: number): Promise<string> {
  if (Deno.build.os !== "linux") return "";
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", script, "sh", String(pid)],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

function statusKb(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return m ? Number(m[1]) : undefined;
}

/** The pids of all descendants of `pid` (Linux only; empty elsewhere). */
export async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  const visit = async (p: number) => {
    const text = await procShell('cat /proc/"$1"/task/*/children 2>/dev/null', p);
    for (const c of text.trim().split(/\s+/).filter(Boolean).map(Number)) {
      out.push(c);
      await visit(c);
    }
  };
  await visit(pid);
  return out;
}

/** Memory of a process in MB: its RSS, peak RSS, and the RSS of its descendants. */
export interface Memory {
  rssMb: number;
  peakMb: number;
  childrenMb: number;
  children: number;
}

/** Reads a process's memory (VmRSS, VmHWM) from /proc; undefined where that is not available. */
export async function memory(pid: number): Promise<Memory | undefined> {
  const status = await procShell('cat /proc/"$1"/status', pid);
  const rss = statusKb(status, "VmRSS");
  if (rss === undefined) return undefined;
  let kidsKb = 0;
  const kids = await descendants(pid);
  for (const k of kids) kidsKb += statusKb(await procShell('cat /proc/"$1"/status', k), "VmRSS") ?? 0;
  return {
    rssMb: rss / 1024,
    peakMb: (statusKb(status, "VmHWM") ?? rss) / 1024,
    childrenMb: kidsKb / 1024,
    children: kids.length,
  };
}
