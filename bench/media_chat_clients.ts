/**
 * The client side of the media benchmark's chat scenario (bench/media_chat.ts), run as its own
 * process: one supabase-js client per subscribed member on the private channel `room:<id>`, members
 * posting over HTTP one at a time (`pauseMs` apart), the time from just before each request to the
 * `message` event at every socket recorded (as bench/chat_clients.ts does).
 *
 * 1. Baseline: `warmup` + `posts` posts with nothing else going on.
 * 2. Under load: `images` uploads of the 12 MP JPEG in `imageFile` start at once (by different
 *    people); posting goes on until every one of them is `ready` or `failed` (polled every 500 ms) or
 *    `loadTimeoutMs` passes. Each post is marked as sent while uploads were still in flight or after.
 *
 * Reads its settings from the JSON file named by the first argument; prints one JSON line.
 */
import { closeAll, createSocketBench, sleep } from "./chat_sockets.ts";

interface Settings {
  url: string;
  anonKey: string;
  roomId: string;
  subscribers: { id: string; token: string }[];
  posters: { id: string; token: string }[];
  uploaders: { id: string; token: string }[];
  imageFile: string;
  images: number;
  posts: number;
  warmup: number;
  pauseMs: number;
  timeoutMs: number;
  loadTimeoutMs: number;
}

const settings: Settings = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const progress = (m: string) => console.error(`[bench:media clients] ${m}`);
const bench = createSocketBench({ ...settings, expected: settings.subscribers.length });

const t0 = performance.now();
const clients = await bench.subscribeAll(settings.subscribers.map((s) => s.token), { message: "client_id" });
progress(`${clients.length} sockets subscribed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

interface Sample {
  http: number;
  status: number;
  arrivals: number[];
  /** Sent while uploads were still in flight. */
  uploading?: boolean;
}

let counter = 0;
async function post(): Promise<Sample> {
  const i = counter++;
  const poster = settings.posters[i % settings.posters.length];
  const key = `media-bench-${i}-${crypto.randomUUID().slice(0, 8)}`;
  const body = JSON.stringify({ body: `Message ${i}: photos from the market are up`, client_id: key });
  const { http, status, arrivals } = await bench.post(poster.token, key, body);
  return { http, status, arrivals };
}

// 1. Baseline.
const baseline: Sample[] = [];
for (let i = 0; i < settings.warmup + settings.posts; i++) {
  const s = await post();
  if (i >= settings.warmup) baseline.push(s);
  await sleep(settings.pauseMs);
}

// 2. Under load: the uploads start at once; posting continues until every image is processed.
const image = await Deno.readFile(settings.imageFile);
let uploading = true;
let uploadsFailed = 0;
const ids: string[] = [];
const loadStart = performance.now();
const uploadTimes: number[] = [];
const uploads = Promise.all(
  Array.from({ length: settings.images }, async (_, i) => {
    const user = settings.uploaders[i % settings.uploaders.length];
    const boundary = `----plaza-bench-${crypto.randomUUID()}`;
    const body = new Blob([
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big-${i}.jpg"\r\n` +
      `Content-Type: image/jpeg\r\n\r\n`,
      image,
      `\r\n--${boundary}--\r\n`,
    ]);
    const t = performance.now();
    const res = await fetch(`${settings.url}/api/v1/media`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${user.token}`,
        "content-type": `multipart/form-data; boundary=${boundary}`,
      },
      body,
    });
    const json = await res.json();
    uploadTimes.push(performance.now() - t);
    if (res.status === 201) ids.push(json.id);
    else {
      uploadsFailed++;
      progress(`upload ${i}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
    }
  }),
).finally(() => uploading = false);

const statuses = new Map<string, string>();
let finished = false;
const poller = (async () => {
  await uploads;
  const owner = new Map<string, string>();
  for (let i = 0; i < settings.uploaders.length; i++) {
    owner.set(settings.uploaders[i].id, settings.uploaders[i].token);
  }
  while (performance.now() - loadStart < settings.loadTimeoutMs) {
    for (const id of ids) {
      if (statuses.get(id) === "ready" || statuses.get(id) === "failed") continue;
      for (const u of settings.uploaders) {
        const res = await fetch(`${settings.url}/api/v1/media/${id}`, {
          headers: { authorization: `Bearer ${u.token}` },
        });
        const json = await res.json();
        if (res.status === 200) {
          statuses.set(id, json.status);
          break;
        }
      }
    }
    if (ids.every((id) => statuses.get(id) === "ready" || statuses.get(id) === "failed")) break;
    await sleep(500);
  }
  finished = true;
})();

const loaded: Sample[] = [];
while (!finished) {
  const wasUploading = uploading;
  const s = await post();
  loaded.push({ ...s, uploading: wasUploading });
  await sleep(settings.pauseMs);
}
await poller;
const loadMs = performance.now() - loadStart;
const ready = [...statuses.values()].filter((s) => s === "ready").length;
const failedImages = [...statuses.values()].filter((s) => s === "failed").length;
progress(
  `${ready} of ${settings.images} images ready, ${failedImages} failed, in ${(loadMs / 1000).toFixed(1)} s`,
);

console.log(JSON.stringify({
  baseline,
  loaded,
  loadMs,
  uploadsMs: Math.max(0, ...uploadTimes),
  uploadsFailed,
  ready,
  failedImages,
}));
await closeAll(clients);
Deno.exit(0);
