/**
 * Supabase Storage over its REST API (storage-api), authenticated with the service role key so
 * bucket policies do not apply. Objects live in one private bucket; keys are object names.
 *
 * Supabase reports most errors as HTTP 400 with a JSON body whose `statusCode` carries the real
 * status (e.g. `{"statusCode":"404","error":"not_found","message":"Object not found"}`).
 */
import { isValidKey, type Storage, type StoredObject } from "./port.ts";

/** Where the bucket lives and how to reach it. */
export interface SupabaseStorageOptions {
  /** The project URL, e.g. `https://abc.supabase.co` (no trailing slash needed). */
  url: string;
  serviceRoleKey: string;
  bucket: string;
  /** Replaces the global fetch (tests). */
  fetch?: typeof fetch;
}

/** Supabase's delete endpoint takes at most this many names per request. */
const DELETE_BATCH = 1000;
/** Page size for listing one folder level. */
const LIST_PAGE = 1000;

/** One entry of a folder listing; folders have `id: null`. */
interface ListItem {
  name: string;
  id: string | null;
}

/** A parsed error response. */
interface ApiError {
  status: number;
  /** The `statusCode` from the body when present (Supabase's "real" status), else the HTTP status. */
  code: number;
  message: string;
}

function assertKey(key: string): void {
  if (!isValidKey(key)) throw new Error(`Invalid storage key: ${JSON.stringify(key)}`);
}

/** Encodes each path segment (keys are already restricted to URL-safe characters). */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

async function readError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { statusCode?: string | number; message?: string; error?: string };
    const code = Number(body.statusCode);
    return {
      status: res.status,
      code: Number.isFinite(code) && code > 0 ? code : res.status,
      message: String(body.message ?? body.error ?? res.statusText),
    };
  } catch {
    return { status: res.status, code: res.status, message: text.slice(0, 200) || res.statusText };
  }
}

function apiFailure(action: string, err: ApiError): Error {
  const real = err.code !== err.status ? ` (${err.code})` : "";
  return new Error(`Supabase Storage ${action} failed: HTTP ${err.status}${real}: ${err.message}`);
}

function isNotFound(err: ApiError): boolean {
  return err.status === 404 || err.code === 404 || /not.?found/i.test(err.message);
}

/** A client bound to one project: `call(method, path, init)` with the service role headers. */
function client(opts: { url: string; serviceRoleKey: string; fetch?: typeof fetch }) {
  const base = `${opts.url.replace(/\/+$/, "")}/storage/v1`;
  const doFetch = opts.fetch ?? fetch;
  const auth = { authorization: `Bearer ${opts.serviceRoleKey}`, apikey: opts.serviceRoleKey };
  return (method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit } = {}) =>
    doFetch(`${base}${path}`, {
      method,
      headers: { ...auth, ...init.headers },
      body: init.body,
      // Needed for streamed request bodies in the fetch spec; harmless otherwise.
      ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
}

type Call = ReturnType<typeof client>;

async function callJson(call: Call, action: string, method: string, path: string, body: unknown) {
  const res = await call(method, path, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw apiFailure(action, await readError(res));
  return await res.json();
}

/**
 * Wraps `source` so the bytes are counted and the source's own error is remembered: when the
 * source errors, fetch rejects with its own error, and `put` rethrows the source's instead.
 */
function tap(source: ReadableStream<Uint8Array>) {
  const state = { bytes: 0, error: undefined as unknown, failed: false };
  const reader = source.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (err) {
        state.failed = true;
        state.error = err;
        controller.error(err);
        return;
      }
      if (result.done) return controller.close();
      state.bytes += result.value.byteLength;
      controller.enqueue(result.value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });
  return { stream, state };
}

/** Lists one folder level completely (all pages). `folder` is "" for the bucket root. */
async function listFolder(call: Call, bucket: string, folder: string): Promise<ListItem[]> {
  const items: ListItem[] = [];
  for (let offset = 0;; offset += LIST_PAGE) {
    const page = await callJson(call, "list", "POST", `/object/list/${encodeURIComponent(bucket)}`, {
      prefix: folder,
      limit: LIST_PAGE,
      offset,
      sortBy: { column: "name", order: "asc" },
    }) as ListItem[];
    items.push(...page);
    if (page.length < LIST_PAGE) return items;
  }
}

/** Every object name under `folder`, recursing into sub-folders. */
async function listAll(call: Call, bucket: string, folder: string, out: string[]): Promise<void> {
  for (const item of await listFolder(call, bucket, folder)) {
    const name = folder ? `${folder}/${item.name}` : item.name;
    if (item.id === null) await listAll(call, bucket, name, out);
    else out.push(name);
  }
}

/** Deletes `keys` in batches; names with no object are ignored by Supabase. */
async function deleteKeys(call: Call, bucket: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_BATCH) {
    await callJson(call, "delete", "DELETE", `/object/${encodeURIComponent(bucket)}`, {
      prefixes: keys.slice(i, i + DELETE_BATCH),
    });
  }
}

/**
 * Storage in the Supabase Storage bucket `opts.bucket` (see {@link ensureBucket} to create it).
 * @example const storage = supabaseStorage({ url, serviceRoleKey, bucket: "media" });
 */
export function supabaseStorage(opts: SupabaseStorageOptions): Storage {
  const call = client(opts);
  const bucket = opts.bucket;
  const objectPath = (key: string) => {
    assertKey(key);
    return `/object/${encodeURIComponent(bucket)}/${encodePath(key)}`;
  };
  const downloadPath = (key: string) => {
    assertKey(key);
    return `/object/authenticated/${encodeURIComponent(bucket)}/${encodePath(key)}`;
  };

  async function download(key: string): Promise<Response | null> {
    const res = await call("GET", downloadPath(key));
    if (res.ok) return res;
    const err = await readError(res);
    if (isNotFound(err)) return null;
    throw apiFailure("download", err);
  }

  return {
    kind: "supabase",

    async put(key, body, options) {
      const path = objectPath(key);
      const tapped = body instanceof Uint8Array ? null : tap(body);
      let res: Response;
      try {
        res = await call("POST", path, {
          headers: { "content-type": options.contentType, "x-upsert": "true", "cache-control": "no-cache" },
          body: tapped ? tapped.stream : (body as Uint8Array<ArrayBuffer>),
        });
      } catch (err) {
        // The body never arrived whole; make sure no object is left behind.
        await deleteKeys(call, bucket, [key]).catch(() => {});
        throw tapped?.state.failed ? tapped.state.error : err;
      }
      if (!res.ok) {
        const err = await readError(res);
        if (tapped?.state.failed) {
          await deleteKeys(call, bucket, [key]).catch(() => {});
          throw tapped.state.error;
        }
        throw apiFailure("upload", err);
      }
      await res.body?.cancel();
      return { bytes: tapped ? tapped.state.bytes : (body as Uint8Array).byteLength };
    },

    async get(key): Promise<StoredObject | null> {
      const res = await download(key);
      if (!res) return null;
      const contentType = res.headers.get("content-type") ?? "application/octet-stream";
      const length = res.headers.get("content-length");
      if (length !== null && res.body) return { body: res.body, size: Number(length), contentType };
      // No length (chunked response): buffer to learn the size.
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { body: ReadableStream.from([bytes]), size: bytes.byteLength, contentType };
    },

    async read(key) {
      const res = await download(key);
      return res ? new Uint8Array(await res.arrayBuffer()) : null;
    },

    async delete(keys) {
      keys.forEach(assertKey);
      await deleteKeys(call, bucket, keys);
    },

    async list(prefix) {
      const slash = prefix.lastIndexOf("/");
      const folder = slash < 0 ? "" : prefix.slice(0, slash);
      if (folder !== "" && !isValidKey(folder)) return [];
      const out: string[] = [];
      for (const item of await listFolder(call, bucket, folder)) {
        const name = folder ? `${folder}/${item.name}` : item.name;
        if (!name.startsWith(prefix)) continue;
        if (item.id === null) await listAll(call, bucket, name, out);
        else out.push(name);
      }
      return out.sort();
    },
  };
}

/** Creates `opts.bucket` as a private bucket unless it already exists. */
export async function ensureBucket(opts: SupabaseStorageOptions): Promise<void> {
  const call = client(opts);
  const res = await call("POST", "/bucket", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: opts.bucket, name: opts.bucket, public: false }),
  });
  if (res.ok) {
    await res.body?.cancel();
    return;
  }
  const err = await readError(res);
  if (err.status === 409 || err.code === 409 || /already exists/i.test(err.message)) return;
  throw apiFailure("create bucket", err);
}
