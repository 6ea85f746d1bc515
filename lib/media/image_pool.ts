/**
 * Runs image rendering off the main event loop in a small pool of module Web Workers.
 * @module
 */
import {
  ImageError,
  type ImageMime,
  type RenderOptions,
  type RenderResult,
  renderVariants,
} from "@/lib/media/images.ts";
import type { ImageJob, ImageReply } from "@/lib/media/image_worker.ts";

/** Renders images, usually in background workers. */
export interface ImagePool {
  /**
   * Renders `bytes` (see `renderVariants`). In worker mode the underlying buffer is transferred to the
   * worker, so `bytes` is detached (empty) afterwards when it spans a whole ArrayBuffer; copy it first if
   * you still need it.
   */
  render(bytes: Uint8Array, mime: ImageMime, opts: RenderOptions): Promise<RenderResult>;
  /** jobs waiting or running */
  readonly pending: number;
  /** Terminates the workers and rejects running and queued jobs. Idempotent. */
  close(): void;
}

/** Options for {@link createImagePool}. */
export interface ImagePoolOptions {
  /** Number of workers (default 1). */
  size?: number;
  /** Render on the calling thread (for runtimes without Workers, e.g. Supabase Edge Functions). */
  inline?: boolean;
  /** Worker module to run (tests only; defaults to image_worker.ts). */
  workerUrl?: string;
}

interface QueuedJob {
  job: ImageJob;
  resolve(result: RenderResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  current: QueuedJob | null;
}

const DEFAULT_WORKER_URL = new URL("./image_worker.ts", import.meta.url).href;

/** The error for jobs cut short by {@link ImagePool.close}. */
function closedError(): Error {
  return new Error("The image pool was closed.");
}

/**
 * A pool of `size` (default 1) module Web Workers created lazily. Jobs queue FIFO; buffers are transferred
 * both ways; an ImageError thrown in a worker is rethrown here with the same code and message; if a worker
 * crashes its job rejects with ImageError("undecodable") and the worker is replaced. `inline: true` renders
 * on the calling thread instead. Call close() when done: live workers keep the process alive.
 */
export function createImagePool(options: ImagePoolOptions = {}): ImagePool {
  return options.inline ? createInlinePool() : createWorkerPool(options);
}

/** Renders on the calling thread. */
function createInlinePool(): ImagePool {
  let running = 0;
  let closed = false;
  return {
    async render(bytes, mime, opts) {
      if (closed) throw closedError();
      running++;
      try {
        return await renderVariants(bytes, mime, opts);
      } finally {
        running--;
      }
    },
    get pending() {
      return running;
    },
    close() {
      closed = true;
    },
  };
}

/** A fresh ArrayBuffer-backed array that can be transferred without detaching anything else. */
function transferable(bytes: Uint8Array): Uint8Array {
  const whole = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes : bytes.slice();
}

/** Converts a worker reply into a result or an error. */
function settle(entry: QueuedJob, reply: ImageReply): void {
  if (reply.ok) entry.resolve(reply.result);
  else if (reply.code) entry.reject(new ImageError(reply.code, reply.message));
  else entry.reject(new Error(`Image rendering failed: ${reply.message}`));
}

/** Worker-backed pool. */
function createWorkerPool(options: ImagePoolOptions): ImagePool {
  const size = Math.max(1, Math.floor(options.size ?? 1));
  const workerUrl = options.workerUrl ?? DEFAULT_WORKER_URL;
  const queue: QueuedJob[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  function dispatch(): void {
    while (!closed && queue.length > 0) {
      const slot = slots.find((s) => s.current === null) ?? (slots.length < size ? spawn() : null);
      if (!slot) return;
      const entry = queue.shift()!;
      slot.current = entry;
      slot.worker.postMessage(entry.job, [entry.job.bytes.buffer as ArrayBuffer]);
    }
  }

  function spawn(): Slot {
    const slot: Slot = { worker: new Worker(workerUrl, { type: "module" }), current: null };
    slot.worker.onmessage = (event: MessageEvent<ImageReply>) => {
      const entry = slot.current;
      slot.current = null;
      if (entry) settle(entry, event.data);
      dispatch();
    };
    slot.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // keep the crash from propagating to (and killing) this thread
      replace(slot);
    };
    slot.worker.onmessageerror = () => replace(slot);
    slots.push(slot);
    return slot;
  }

  /** Fails the crashed worker's job and drops the worker; dispatch() spawns a new one on demand. */
  function replace(slot: Slot): void {
    slot.worker.terminate();
    slots.splice(slots.indexOf(slot), 1);
    slot.current?.reject(new ImageError("undecodable", "The image could not be processed."));
    slot.current = null;
    dispatch();
  }

  return {
    render(bytes, mime, opts) {
      if (closed) return Promise.reject(closedError());
      return new Promise<RenderResult>((resolve, reject) => {
        queue.push({ job: { id: nextId++, bytes: transferable(bytes), mime, opts }, resolve, reject });
        dispatch();
      });
    },
    get pending() {
      return queue.length + slots.filter((s) => s.current !== null).length;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const slot of slots.splice(0)) {
        slot.worker.terminate();
        slot.current?.reject(closedError());
      }
      for (const entry of queue.splice(0)) entry.reject(closedError());
    },
  };
}
