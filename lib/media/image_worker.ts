/**
 * Web Worker entry point that runs {@link renderVariants} off the main event loop.
 *
 * Protocol: receives {@link ImageJob}, answers with {@link ImageReply}; byte buffers are transferred.
 * Start it through `createImagePool` (image_pool.ts), not directly.
 * @module
 */
import {
  type ImageErrorCode,
  type ImageMime,
  type RenderOptions,
  renderVariants,
} from "@/lib/media/images.ts";
import { ImageError, type RenderResult } from "@/lib/media/images.ts";

/** A render request sent to the worker. */
export interface ImageJob {
  id: number;
  bytes: Uint8Array;
  mime: ImageMime;
  opts: RenderOptions;
}

/** The worker's answer to one {@link ImageJob}. */
export type ImageReply =
  | { id: number; ok: true; result: RenderResult }
  | { id: number; ok: false; code: ImageErrorCode | null; message: string };

/** The parts of the worker global scope used here. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ImageJob>) => void) | null;
  postMessage(message: ImageReply, transfer?: Transferable[]): void;
}

/** Renders one job and builds the reply (never throws). */
async function handle(job: ImageJob): Promise<ImageReply> {
  try {
    return { id: job.id, ok: true, result: await renderVariants(job.bytes, job.mime, job.opts) };
  } catch (error) {
    const code = error instanceof ImageError ? error.code : null;
    return { id: job.id, ok: false, code, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Buffers of the rendered variants, to transfer instead of copy. */
function transferables(reply: ImageReply): Transferable[] {
  if (!reply.ok) return [];
  const buffers = new Set(reply.result.variants.map((v) => v.bytes.buffer as ArrayBuffer));
  return [...buffers];
}

const scope = self as unknown as WorkerScope;
scope.onmessage = async (event) => {
  const reply = await handle(event.data);
  scope.postMessage(reply, transferables(reply));
};
