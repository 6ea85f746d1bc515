/**
 * A stand-in for Supabase Storage's REST API (storage-api) covering what Plaza uses: bucket
 * creation, upload (with `x-upsert`), authenticated download, batch delete and folder listing.
 * Like storage-api it reports most errors as HTTP 400 with the real status in the body's
 * `statusCode` (e.g. a missing object is `{"statusCode":"404","error":"not_found",...}`), and lists
 * one folder level at a time, sub-folders appearing as entries with `id: null`.
 */

/** A stored object; `objects` is keyed by `<bucket>/<object name>`. */
export interface FakeObject {
  bytes: Uint8Array;
  contentType: string;
}

/** A running fake. */
export interface FakeStorage {
  url: string;
  serviceRoleKey: string;
  objects: Map<string, FakeObject>;
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

interface ObjectRecord extends FakeObject {
  id: string;
  createdAt: string;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** storage-api's error rendering: HTTP 400 unless the real status is 5xx. */
function storageError(statusCode: number, error: string, message: string): Response {
  return json(statusCode >= 500 ? statusCode : 400, { statusCode: String(statusCode), error, message });
}

const notFound = () => storageError(404, "not_found", "Object not found");
const bucketNotFound = () => storageError(404, "Bucket not found", "Bucket not found");

/** The list entry storage-api returns for an object or (with `record` undefined) a folder. */
function listEntry(name: string, record: ObjectRecord | undefined) {
  if (!record) {
    return { name, id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null };
  }
  return {
    name,
    id: record.id,
    updated_at: record.createdAt,
    created_at: record.createdAt,
    last_accessed_at: record.createdAt,
    metadata: { size: record.bytes.byteLength, mimetype: record.contentType },
  };
}

/** Starts the fake on a random local port. */
export function startFakeStorage(): Promise<FakeStorage> {
  const serviceRoleKey = `fake-service-role-${crypto.randomUUID()}`;
  const records = new Map<string, ObjectRecord>();
  const objects = records as Map<string, FakeObject>;
  const buckets = new Set<string>();
  const requests: { method: string; path: string }[] = [];

  function authError(req: Request): Response | null {
    if (req.headers.get("apikey") !== serviceRoleKey) {
      return json(401, {
        message: "Invalid API key",
        hint: "Double check your Supabase `anon` or `service_role` API key.",
      });
    }
    if (req.headers.get("authorization") !== `Bearer ${serviceRoleKey}`) {
      return storageError(403, "Unauthorized", "invalid signature");
    }
    return null;
  }

  async function createBucket(req: Request): Promise<Response> {
    const body = await req.json() as { id?: string; name?: string };
    const id = body.id ?? body.name;
    if (!id) return storageError(400, "Invalid Input", "body must have required property 'name'");
    if (buckets.has(id)) return storageError(409, "Duplicate", "The resource already exists");
    buckets.add(id);
    return json(200, { name: id });
  }

  async function upload(req: Request, bucket: string, name: string): Promise<Response> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await req.arrayBuffer());
    } catch {
      return storageError(400, "Aborted", "The upload was aborted"); // client went away mid-body
    }
    if (!buckets.has(bucket)) return bucketNotFound();
    const key = `${bucket}/${name}`;
    if (records.has(key) && req.headers.get("x-upsert") !== "true") {
      return storageError(409, "Duplicate", "The resource already exists");
    }
    const id = crypto.randomUUID();
    const contentType = req.headers.get("content-type") ?? "text/plain;charset=UTF-8";
    records.set(key, { bytes, contentType, id, createdAt: new Date().toISOString() });
    return json(200, { Id: id, Key: key });
  }

  function download(bucket: string, name: string): Response {
    if (!buckets.has(bucket)) return bucketNotFound();
    const record = records.get(`${bucket}/${name}`);
    if (!record) return notFound();
    return new Response(record.bytes.slice(), {
      headers: {
        "content-type": record.contentType,
        "content-length": String(record.bytes.byteLength),
        "cache-control": "max-age=3600",
        etag: `"${record.id}"`,
      },
    });
  }

  async function remove(req: Request, bucket: string): Promise<Response> {
    const body = await req.json() as { prefixes?: string[] };
    if (!Array.isArray(body.prefixes) || body.prefixes.length === 0) {
      return storageError(400, "Invalid Input", "body/prefixes must NOT have fewer than 1 items");
    }
    if (body.prefixes.length > 1000) return storageError(400, "Invalid Input", "Too many prefixes");
    if (!buckets.has(bucket)) return bucketNotFound();
    const deleted = [];
    for (const name of body.prefixes) {
      const record = records.get(`${bucket}/${name}`);
      if (!record) continue;
      records.delete(`${bucket}/${name}`);
      deleted.push({ ...listEntry(name, record), bucket_id: bucket });
    }
    return json(200, deleted);
  }

  async function list(req: Request, bucket: string): Promise<Response> {
    const body = await req.json() as { prefix?: string; limit?: number; offset?: number };
    if (typeof body.prefix !== "string") {
      return storageError(400, "Invalid Input", "body must have required property 'prefix'");
    }
    if (!buckets.has(bucket)) return bucketNotFound();
    const folder = body.prefix.replace(/\/+$/, "");
    const start = folder ? `${folder}/` : "";
    const entries = new Map<string, ObjectRecord | undefined>();
    for (const [key, record] of records) {
      if (!key.startsWith(`${bucket}/${start}`)) continue;
      const rest = key.slice(bucket.length + 1 + start.length);
      const slash = rest.indexOf("/");
      if (slash < 0) entries.set(rest, record);
      else if (!entries.has(rest.slice(0, slash))) entries.set(rest.slice(0, slash), undefined);
    }
    const names = [...entries.keys()].sort();
    const offset = body.offset ?? 0;
    const page = names.slice(offset, offset + (body.limit ?? 100));
    return json(200, page.map((name) => listEntry(name, entries.get(name))));
  }

  async function route(req: Request, method: string, path: string): Promise<Response> {
    const segments = path.split("/").slice(1); // ["storage", "v1", ...]
    if (segments[0] !== "storage" || segments[1] !== "v1") return json(404, { message: "no Route matched" });
    const [area, ...rest] = segments.slice(2);
    if (area === "bucket" && rest.length === 0 && method === "POST") return await createBucket(req);
    if (area !== "object") return json(404, { message: "Route not found" });
    if (method === "POST" && rest[0] === "list" && rest.length === 2) return await list(req, rest[1]);
    if (method === "GET" && rest[0] === "authenticated" && rest.length >= 3) {
      return download(rest[1], rest.slice(2).join("/"));
    }
    if (method === "DELETE" && rest.length === 1) return await remove(req, rest[0]);
    if (method === "POST" && rest.length >= 2) return await upload(req, rest[0], rest.slice(1).join("/"));
    return json(404, { message: `Route ${method}:${path} not found` });
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const method = req.method;
    const path = decodeURIComponent(new URL(req.url).pathname);
    requests.push({ method, path });
    return authError(req) ?? await route(req, method, path);
  });

  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}`,
    serviceRoleKey,
    objects,
    requests,
    close: () => server.shutdown(),
  });
}
