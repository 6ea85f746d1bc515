/**
 * The storage port: where uploaded files and their variants live. Embedded mode keeps them in a
 * local directory (`./data/media`), cloud mode in a Supabase Storage bucket; both sit behind this
 * interface. Keys are server-generated paths such as `<media id>/original` or `<media id>/thumb.jpg`.
 */

/** An object read back from storage. */
export interface StoredObject {
  body: ReadableStream<Uint8Array>;
  /** Size in bytes. */
  size: number;
  contentType: string;
}

/** Files by key. Every method is safe to call concurrently for different keys. */
export interface Storage {
  readonly kind: "local" | "supabase";
  /**
   * Writes `body` under `key`, replacing what was there, and resolves with the bytes written.
   * The object appears only when the whole body was written: if the stream errors or is
   * cancelled, nothing is left under `key` and the stream's error is rethrown.
   */
  put(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    options: { contentType: string },
  ): Promise<{ bytes: number }>;
  /** The object under `key` as a stream, or null when there is none. */
  get(key: string): Promise<StoredObject | null>;
  /** The whole object under `key` in memory (for image processing), or null when there is none. */
  read(key: string): Promise<Uint8Array | null>;
  /** Deletes the objects under `keys`; keys with nothing under them are fine. */
  delete(keys: string[]): Promise<void>;
  /** Every key that starts with `prefix` (tests use it to prove nothing was orphaned). */
  list(prefix: string): Promise<string[]>;
}

/** Storage keys: letters, digits, '-', '_', '.', and '/' between segments; no '..'. */
export function isValidKey(key: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/.test(key) && key.length <= 512 &&
    !key.split("/").some((s) => s === "." || s === "..");
}
