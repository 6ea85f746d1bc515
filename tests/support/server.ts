/**
 * Runs Plaza's own `main.ts` as a separate process on a free port, as a user would start it.
 */

const root = new URL("../../", import.meta.url).pathname;

/** A running server process. */
export interface Server {
  url: string;
  process: Deno.ChildProcess;
  /** Everything it printed so far. */
  output: () => string;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<Deno.CommandStatus>;
  /** The exit status, once everything the process printed has been read. */
  exited: Promise<Deno.CommandStatus>;
}

/** Starts `main.ts` with `env` on a free port and waits until it listens. */
export async function startServer(env: Record<string, string>): Promise<Server> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: root,
    // Services are never inherited from the test's environment: a test passes them explicitly.
    env: {
      PORT: "0",
      LOG_LEVEL: "info",
      PLAZA_SEED: "never",
      DATABASE_URL: "",
      REDIS_URL: "",
      PLAZA_MAP_TILES: "none",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  let streams: Promise<unknown> = Promise.resolve();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${text}`)), 60_000);
    const out = (async () => {
      for await (const chunk of process.stdout) {
        text += decoder.decode(chunk);
        const m = /Plaza listening on (\S+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      }
    })();
    const err = (async () => {
      for await (const chunk of process.stderr) text += decoder.decode(chunk);
    })();
    streams = Promise.all([out, err]);
    process.status.then((s) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${s.code}:\n${text}`));
    });
  });
  const exited = Promise.all([process.status, streams]).then(([status]) => status);
  return {
    url,
    process,
    output: () => text,
    exited,
    async stop() {
      try {
        process.kill("SIGTERM");
      } catch { /* already gone */ }
      return await exited;
    },
  };
}
