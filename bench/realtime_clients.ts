/**
 * The client side of the realtime benchmark, run as its own process: opens subscriber sockets
 * spread over channels, then publisher sockets that broadcast timestamped messages at a fixed rate;
 * prints one JSON line when the subscribers are joined ("ready") and one with the results.
 * Speaks the Supabase Realtime protocol (vsn 2.0.0 text frames) directly.
 */

const [url, sockets, channels, publishers, rate, durationS] = [
  Deno.args[0],
  Number(Deno.args[1]),
  Number(Deno.args[2]),
  Number(Deno.args[3]),
  Number(Deno.args[4]),
  Number(Deno.args[5]),
];

const now = () => performance.timeOrigin + performance.now();
let measuring = false;
const latencies: number[] = [];
let received = 0;

function open(onMessage?: (data: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = (e) => reject(e);
    ws.onmessage = (e) => onMessage?.(e.data as string);
  });
}

function join(ws: WebSocket, topic: string, ref: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const prev = ws.onmessage;
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data as string);
      if (f[1] === ref && f[3] === "phx_reply") {
        ws.onmessage = prev;
        f[4].status === "ok" ? resolve() : reject(new Error(JSON.stringify(f[4])));
      }
    };
    ws.send(
      JSON.stringify([ref, ref, topic, "phx_join", {
        config: { broadcast: { self: false }, presence: { enabled: false } },
      }]),
    );
  });
}

const subs: WebSocket[] = [];
for (let i = 0; i < sockets; i++) {
  // The client shares the machine with the server: it reads only the timestamp, not the whole frame.
  const ws = await open((data) => {
    const at = data.indexOf('"t":');
    if (at < 0 || !data.includes('"broadcast"')) return;
    received++;
    if (measuring) latencies.push(now() - parseFloat(data.slice(at + 4)));
  });
  await join(ws, `realtime:bench-${i % channels}`, "1");
  subs.push(ws);
}
// Heartbeats keep idle sockets alive during the memory measurement.
const hb = setInterval(() => {
  for (const ws of [...subs, ...pubs]) ws.send(JSON.stringify([null, "hb", "phoenix", "heartbeat", {}]));
}, 20_000);
const pubs: WebSocket[] = [];
console.log(JSON.stringify({ ready: true, sockets: subs.length }));
await new Promise<void>((resolve) => {
  const buf = new Uint8Array(64);
  Deno.stdin.read(buf).then(() => resolve());
});

for (let i = 0; i < publishers; i++) {
  const ws = await open();
  await join(ws, `realtime:bench-${i % channels}`, "1");
  pubs.push(ws);
}
let unsent = 0;
let sent = 0;
// Messages are spread evenly over time (round-robin over the publishers), not sent in bursts.
const perMs = (publishers * rate) / 1000;
const start = now();
const warmupEnd = start + 1000;
const end = warmupEnd + durationS * 1000;
let receivedAtStart = 0;
let due = 0;
let next = 0;
while (now() < end) {
  if (!measuring && now() >= warmupEnd) {
    measuring = true;
    receivedAtStart = received;
  }
  due = (now() - start) * perMs - sent - unsent;
  while (due >= 1) {
    const i = next++ % pubs.length;
    pubs[i].send(JSON.stringify(["1", null, `realtime:bench-${i % channels}`, "broadcast", {
      type: "broadcast",
      event: "tick",
      payload: { t: now() },
    }]));
    if (measuring) sent++;
    else unsent++;
    due--;
  }
  await new Promise((r) => setTimeout(r, 1));
}
const measuredMs = now() - warmupEnd;
await new Promise((r) => setTimeout(r, 500));
measuring = false;
clearInterval(hb);
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
console.log(JSON.stringify({
  sent,
  deliveries: received - receivedAtStart,
  expected: sent * (sockets / channels),
  seconds: measuredMs / 1000,
  p50: q(0.5),
  p99: q(0.99),
  max: latencies.at(-1) ?? NaN,
}));
for (const ws of [...subs, ...pubs]) ws.close();
Deno.exit(0);
