/**
 * Media benchmark, part 2 (bench/media.ts): uploads of ~1 MB JPEGs over HTTP. Plaza's app runs in its
 * own process without the job runner (bench/media_server.ts), so nothing is rendered; closed loops of
 * `concurrency` clients in the bench process `POST /api/v1/media` over 127.0.0.1, each upload a
 * distinct file, spread over enough people to stay under the limit of 60 uploads per 10 minutes.
 * The server's RSS is sampled every 20 ms from /proc, and its peak (VmHWM, reset through
 * /proc/<pid>/clear_refs before each level where the kernel allows it) is read after each level.
 */
import type { BenchUser } from "./chat_data.ts";
import { type Stats, stats } from "./chat_stats.ts";
import { multipart, variant } from "./media_images.ts";
import { type Proc, sleep } from "./proc.ts";

/** One concurrency level. */
export interface UploadLevel {
  concurrency: number;
  uploads: number;
  failed: number;
  firstError?: string;
  seconds: number;
  perSecond: number;
  mbPerSecond: number;
  latency: Stats;
  /** Server RSS (MB) before the level, the highest sample during it, after it, and VmHWM after it. */
  rssBefore: number;
  rssMax: number;
  rssAfter: number;
  hwm: number;
  /** True when VmHWM was reset before the level (otherwise it is the peak since the server started). */
  hwmReset: boolean;
}

function statusMb(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

async function readStatus(pid: number): Promise<string> {
  return await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
}

/** Resets the peak RSS of `pid` (Linux: "5" into clear_refs); false when that is not possible. */
async function resetPeak(pid: number): Promise<boolean> {
  try {
    await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Runs one level: `count` uploads by `concurrency` clients; upload i is by `users[i % users.length]`. */
export async function uploadLevel(
  server: Proc,
  url: string,
  users: BenchUser[],
  images: Uint8Array[],
  concurrency: number,
  count: number,
  offset: number,
): Promise<UploadLevel> {
  const pid = server.pid;
  await sleep(500);
  const rssBefore = statusMb(await readStatus(pid), "VmRSS");
  const hwmReset = await resetPeak(pid);
  let rssMax = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssMax = Math.max(rssMax, statusMb(await readStatus(pid), "VmRSS") || 0);
      await sleep(20);
    }
  })();

  const latencies: number[] = [];
  let failed = 0, bytes = 0, next = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const client = async () => {
    while (next < count) {
      const i = next++;
      const file = variant(images[i % images.length], offset + i);
      const { body, contentType } = multipart(file, `upload-${offset + i}.jpg`);
      const user = users[i % users.length];
      const t = performance.now();
      try {
        const res = await fetch(`${url}/api/v1/media`, {
          method: "POST",
          headers: { authorization: `Bearer ${user.token}`, "content-type": contentType },
          body,
        });
        const text = await res.text();
        latencies.push(performance.now() - t);
        if (res.status === 201) bytes += file.length;
        else {
          failed++;
          firstError ??= `HTTP ${res.status}: ${text.slice(0, 200)}`;
        }
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  await sleep(500);
  const status = await readStatus(pid);
  return {
    concurrency,
    uploads: count,
    failed,
    firstError,
    seconds,
    perSecond: (count - failed) / seconds,
    mbPerSecond: bytes / 1024 / 1024 / seconds,
    latency: stats(latencies),
    rssBefore,
    rssMax,
    rssAfter: statusMb(status, "VmRSS"),
    hwm: statusMb(status, "VmHWM"),
    hwmReset,
  };
}
