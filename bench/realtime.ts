/**
 * Realtime benchmark (`deno task bench:realtime`): Plaza in its own process, clients in another.
 *  1. 1,000 subscriber sockets in 100 channels; memory per idle socket from the server's RSS.
 *  2. 100 publishers broadcast at a fixed rate: deliveries/s and latency p50/p99 (publish to
 *     receipt, across processes).
 *  3. realtime.send from SQL to a subscriber (in process: the embedded database lives inside the
 *     server), p50/p99 over sequential sends.
 * Targets (DESIGN section 9): p50 <= 5 ms, p99 <= 25 ms, >= 50,000 deliveries/s, <= 60 KB per idle socket.
 */
import { loadConfig } from "@/lib/config.ts";
import { createLogger } from "@/lib/log.ts";
import { createPlatform } from "@/lib/platform.ts";
import { freePort, memory, sleep, spawnDeno, stopAll, waitForOk } from "./proc.ts";

const arg = (name: string, fallback: number) => {
  const m = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return m ? Number(m.split("=")[1]) : fallback;
};
const SOCKETS = arg("sockets", 1000);
const CHANNELS = arg("channels", 100);
const PUBLISHERS = arg("publishers", 100);
const RATE = arg("rate", 50); // messages per second per publisher
const DURATION = arg("duration", 5);
const root = new URL("../", import.meta.url).pathname;

const tmp = await Deno.makeTempDir({ prefix: "plaza-rt-bench-" });
const results: Record<string, unknown> = {};
try {
  // 1 + 2: server and clients in separate processes.
  const port = freePort();
  const secret = "bench-secret-bench-secret-bench-secret-0123";
  const server = spawnDeno("plaza", ["run", "-A", "main.ts"], {
    PORT: String(port),
    PLAZA_DATA_DIR: tmp,
    PLAZA_SEED: "never",
    LOG_LEVEL: "warn",
    PLAZA_SECRET: secret,
    DATABASE_URL: "",
    REDIS_URL: "",
  }, root);
  await waitForOk(server, `http://127.0.0.1:${port}/health`);
  const anonKey =
    (await (await fetch(`http://127.0.0.1:${port}/api/v1/client-config`)).json()).supabaseAnonKey;
  await sleep(1000);
  const before = await memory(server.pid);
  const clients = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "bench/realtime_clients.ts",
      `ws://127.0.0.1:${port}/realtime/v1/websocket?apikey=${anonKey}&vsn=2.0.0`,
      String(SOCKETS),
      String(CHANNELS),
      String(PUBLISHERS),
      String(RATE),
      String(DURATION),
    ],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = clients.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextLine = async (): Promise<Record<string, unknown>> => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("client process ended early");
      buffer += value;
    }
    const i = buffer.indexOf("\n");
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    return JSON.parse(line);
  };
  const t0 = performance.now();
  await nextLine(); // ready: every subscriber joined
  results.connectSeconds = (performance.now() - t0) / 1000;
  await sleep(2000);
  const after = await memory(server.pid);
  if (before && after) results.kbPerIdleSocket = ((after.rssMb - before.rssMb) * 1024) / SOCKETS;
  results.serverRssMb = after?.rssMb;
  const writer = clients.stdin.getWriter();
  await writer.write(new TextEncoder().encode("go\n"));
  await writer.close();
  results.fanout = await nextLine();
  await clients.status;

  // 3: realtime.send latency, in process.
  const dataDir = `${tmp}/inproc`;
  const platform = await createPlatform(loadConfig({ PLAZA_DATA_DIR: dataDir, LOG_LEVEL: "error" }), {
    log: createLogger("error"),
  });
  const { createApp } = await import("@/routes/app.ts");
  const app = await createApp(platform);
  const http = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => app.fetch(req, info),
  );
  const ws = new WebSocket(
    `ws://127.0.0.1:${http.addr.port}/realtime/v1/websocket?apikey=${platform.apiKeys.anonKey}&vsn=2.0.0`,
  );
  await new Promise((r) => (ws.onopen = r));
  let arrived: (() => void) | undefined;
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f[3] === "phx_reply" && f[1] === "1") arrived?.();
    if (f[3] === "broadcast") arrived?.();
  };
  await new Promise<void>((r) => {
    arrived = r;
    ws.send(JSON.stringify(["1", "1", "realtime:dbsend", "phx_join", { config: {} }]));
  });
  const samples: number[] = [];
  for (let i = 0; i < 220; i++) {
    const start = performance.now();
    await new Promise<void>((r) => {
      arrived = r;
      platform.db.query("select realtime.send($1::text::jsonb, 'row', 'dbsend', false)", [
        JSON.stringify({ i }),
      ]);
    });
    if (i >= 20) samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  results.dbSend = {
    p50: samples[Math.floor(samples.length / 2)],
    p99: samples[Math.floor(samples.length * 0.99)],
  };
  ws.close();
  await http.shutdown();
  await platform.close();
} finally {
  await stopAll();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}

const f = results.fanout as Record<string, number>;
const rate = f.deliveries / f.seconds;
const db = results.dbSend as Record<string, number>;
const ms = (n: number) => n.toFixed(2);
console.log(`## Realtime benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC

- Machine: ${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch}), ${navigator.hardwareConcurrency} logical CPUs; Deno ${Deno.version.deno}
- ${SOCKETS} subscriber sockets in ${CHANNELS} channels, ${PUBLISHERS} publishers at ${RATE} msg/s each, ${DURATION} s measured; clients in a separate process on the same 2 cores

| What | Figure | Target |
| --- | ---: | --- |
| Fan-out deliveries/s | ${Math.round(rate).toLocaleString("en-US")} | >= 50,000 |
| Delivered / expected | ${f.deliveries.toLocaleString("en-US")} / ${
  f.expected.toLocaleString("en-US")
} | all |
| Broadcast latency p50 | ${ms(f.p50)} ms | <= 5 ms |
| Broadcast latency p99 | ${ms(f.p99)} ms | <= 25 ms |
| realtime.send (SQL) to subscriber p50 | ${ms(db.p50)} ms | |
| realtime.send (SQL) to subscriber p99 | ${ms(db.p99)} ms | |
| Memory per idle socket | ${(results.kbPerIdleSocket as number)?.toFixed(1)} KB | <= 60 KB |
| Server RSS with ${SOCKETS} sockets | ${(results.serverRssMb as number)?.toFixed(1)} MB | |
| Time to open and join ${SOCKETS} sockets | ${(results.connectSeconds as number).toFixed(1)} s | |
`);
