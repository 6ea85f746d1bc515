/**
 * Local-directory storage for embedded mode: each object is a file at `<root>/<key>`.
 *
 * Writes go to a hidden temp file beside the target (`.<name>.tmp-<random>`) and are renamed over it
 * only once the whole body was written, so readers never see a partial object. Local storage keeps
 * no metadata: the content type is inferred from the key's extension (see {@link contentTypeFor}),
 * so a key without a known extension reads back as `application/octet-stream`.
 */
import { isValidKey, type Storage, type StoredObject } from "./port.ts";

const typesByExtension: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  mp4: "video/mp4",
  webm: "video/webm",
};

/** The content type local storage reports for `key`, from its extension. */
export function contentTypeFor(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return "application/octet-stream";
  return typesByExtension[name.slice(dot + 1).toLowerCase()] ?? "application/octet-stream";
}

/** Throws unless `key` is a valid storage key (which also keeps it inside the root). */
function assertKey(key: string): void {
  if (!isValidKey(key)) throw new Error(`Invalid storage key: ${JSON.stringify(key)}`);
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

function tempPathFor(path: string): string {
  const slash = path.lastIndexOf("/");
  const random = crypto.randomUUID().slice(0, 8);
  return `${path.slice(0, slash)}/.${path.slice(slash + 1)}.tmp-${random}`;
}

/**
 * Creates the temp file, creating parent directories first. Retries once when a concurrent
 * `delete` removed the freshly created (still empty) parent directory in between.
 */
async function openTemp(tmp: string): Promise<Deno.FsFile> {
  for (let attempt = 0;; attempt++) {
    await Deno.mkdir(parentOf(tmp), { recursive: true });
    try {
      return await Deno.open(tmp, { write: true, createNew: true });
    } catch (err) {
      if (!isNotFound(err) || attempt >= 2) throw err;
    }
  }
}

/** Streams `body` into the open file, closing it either way; resolves with the bytes written. */
async function writeStream(file: Deno.FsFile, body: ReadableStream<Uint8Array>): Promise<number> {
  const writer = file.writable.getWriter();
  let bytes = 0;
  try {
    // `for await` cancels the source if the loop body throws (e.g. a failed disk write).
    for await (const chunk of body) {
      await writer.write(chunk);
      bytes += chunk.byteLength;
    }
  } catch (err) {
    await writer.abort(err).catch(() => {});
    throw err;
  }
  await writer.close();
  return bytes;
}

async function writeBytes(file: Deno.FsFile, body: Uint8Array): Promise<number> {
  const writer = file.writable.getWriter();
  try {
    await writer.write(body);
  } catch (err) {
    await writer.abort(err).catch(() => {});
    throw err;
  }
  await writer.close();
  return body.byteLength;
}

/** Removes empty directories from `dir` upwards, stopping at `root` or at the first non-empty one. */
async function pruneEmptyDirs(root: string, dir: string): Promise<void> {
  while (dir.length > root.length && dir.startsWith(`${root}/`)) {
    try {
      await Deno.remove(dir); // non-recursive: fails when the directory is not empty
    } catch {
      return;
    }
    dir = parentOf(dir);
  }
}

/** Every file key under `dir` (relative to `root`), skipping hidden (temp) entries. */
async function walk(root: string, dir: string, out: string[]): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walk(root, path, out);
    else if (entry.isFile) out.push(path.slice(root.length + 1));
  }
}

/**
 * Storage in the directory `root` (created on first write).
 * @example const storage = localStore("./data/media");
 */
export function localStore(root: string): Storage {
  const base = root.replace(/[\\/]+$/, "") || "/";
  const pathOf = (key: string) => {
    assertKey(key);
    return `${base}/${key}`;
  };

  return {
    kind: "local",

    async put(key, body, _options) {
      const path = pathOf(key);
      const tmp = tempPathFor(path);
      const file = await openTemp(tmp);
      try {
        const bytes = body instanceof Uint8Array
          ? await writeBytes(file, body)
          : await writeStream(file, body);
        await Deno.rename(tmp, path);
        return { bytes };
      } catch (err) {
        await Deno.remove(tmp).catch(() => {});
        await pruneEmptyDirs(base, parentOf(path));
        throw err;
      }
    },

    async get(key): Promise<StoredObject | null> {
      const path = pathOf(key);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
      try {
        const info = await file.stat();
        if (!info.isFile) throw new Error("Storage object is not a file");
        return { body: file.readable, size: info.size, contentType: contentTypeFor(key) };
      } catch (err) {
        file.close();
        throw err;
      }
    },

    async read(key) {
      try {
        return await Deno.readFile(pathOf(key));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async delete(keys) {
      const paths = keys.map(pathOf); // validate all before deleting any
      for (const path of paths) {
        try {
          await Deno.remove(path);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        await pruneEmptyDirs(base, parentOf(path));
      }
    },

    async list(prefix) {
      const slash = prefix.lastIndexOf("/");
      const dir = slash < 0 ? "" : prefix.slice(0, slash);
      if (dir !== "" && !isValidKey(dir)) return []; // no valid key can start with it
      const keys: string[] = [];
      await walk(base, dir ? `${base}/${dir}` : base, keys);
      return keys.filter((k) => k.startsWith(prefix)).sort();
    },
  };
}
