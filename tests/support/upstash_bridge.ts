/**
 * A stand-in for Upstash Redis's REST API, forwarding to a real Redis over RESP, so the Upstash
 * adapter can be tested without the network. Speaks what `@upstash/redis` sends:
 *
 * - `POST /` with a command as a JSON array (`["SET","k","v","PX",100]`) → `{"result": …}`, or
 *   `{"error": "…"}` with status 400 when Redis answers with an error;
 * - `POST /pipeline` with an array of commands → `[{"result": …} | {"error": "…"}, …]`;
 * - `POST /multi-exec` with an array of commands, run as one MULTI/EXEC transaction → the same
 *   shape, or 400 when Redis refuses to queue a command (EXECABORT).
 *
 * Every request needs `Authorization: Bearer <token>` (401 `{"error":"Unauthorized"}` otherwise).
 * With `Upstash-Encoding: base64` (the client's default) every string in a result, also inside
 * arrays, is sent as base64 of its UTF-8 bytes; numbers and null are left as they are.
 */
import { RespClient, RespError, type RespValue } from "@/lib/kv/resp.ts";

/** A running bridge. */
export interface UpstashBridge {
  /** Base URL to give the Upstash client, e.g. `http://127.0.0.1:54321`. */
  url: string;
  /** Stops the server and closes its Redis connection. */
  close(): Promise<void>;
}

type Json = string | number | null | Json[];
type Args = (string | number)[];

/** A reply that is not a Redis answer: a bad request or an unreachable Redis. */
class BridgeError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

function base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Turns a Redis reply into the JSON Upstash sends; nested errors become their message. */
function toJson(value: RespValue, encode: boolean): Json {
  if (value instanceof RespError) return encode ? base64(value.message) : value.message;
  if (Array.isArray(value)) return value.map((v) => toJson(v, encode));
  if (typeof value === "string") return encode ? base64(value) : value;
  return value;
}

/** Checks that `body` is a command: a non-empty array of strings, numbers or booleans. */
function toArgs(body: unknown): Args {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BridgeError("ERR a command must be a non-empty JSON array", 400);
  }
  return body.map((a) => {
    if (typeof a === "string" || typeof a === "number") return a;
    if (typeof a === "boolean") return String(a);
    throw new BridgeError(`ERR unsupported argument ${JSON.stringify(a)}`, 400);
  });
}

function toCommands(body: unknown): Args[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BridgeError("ERR a pipeline must be a non-empty JSON array of commands", 400);
  }
  return body.map(toArgs);
}

const reply = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A settled command, as one entry of a pipeline or transaction reply. */
function entry(settled: PromiseSettledResult<RespValue>, encode: boolean) {
  if (settled.status === "rejected") return { error: errorMessage(settled.reason) };
  if (settled.value instanceof RespError) return { error: settled.value.message };
  return { result: toJson(settled.value, encode) };
}

/** Starts a bridge on a free port of 127.0.0.1 in front of the Redis at `redisUrl`. */
export async function startUpstashBridge(redisUrl: string, token: string): Promise<UpstashBridge> {
  const client = new RespClient(redisUrl);
  try {
    await client.command("PING");
  } catch (err) {
    client.close();
    throw err;
  }
  // Transactions get a connection of their own so that no other request's commands land between
  // MULTI and EXEC on the shared one.
  const transactions = new Set<RespClient>();

  async function multiExec(commands: Args[], encode: boolean): Promise<Response> {
    const tx = new RespClient(redisUrl);
    transactions.add(tx);
    try {
      await tx.command("MULTI");
      for (const c of commands) {
        // A command Redis refuses to queue makes EXEC fail with EXECABORT below.
        await tx.command(...c).catch((err) => {
          if (!(err instanceof RespError)) throw err;
        });
      }
      let results: RespValue;
      try {
        results = await tx.command("EXEC");
      } catch (err) {
        if (err instanceof RespError) return reply({ error: err.message }, 400);
        throw err;
      }
      if (!Array.isArray(results)) return reply({ error: "ERR the transaction was aborted" }, 400);
      return reply(results.map((r) => entry({ status: "fulfilled", value: r }, encode)));
    } finally {
      tx.close();
      transactions.delete(tx);
    }
  }

  async function handle(req: Request): Promise<Response> {
    if (req.headers.get("authorization") !== `Bearer ${token}`) return reply({ error: "Unauthorized" }, 401);
    if (req.method !== "POST") return reply({ error: "Method not allowed" }, 405);
    const encode = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return reply({ error: "ERR the body is not valid JSON" }, 400);
    }
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    try {
      switch (path) {
        case "": {
          const args = toArgs(body);
          try {
            return reply({ result: toJson(await client.command(...args), encode) });
          } catch (err) {
            if (err instanceof RespError) return reply({ error: err.message }, 400);
            throw new BridgeError(errorMessage(err), 500);
          }
        }
        case "/pipeline": {
          const commands = toCommands(body);
          const settled = await Promise.allSettled(commands.map((c) => client.command(...c)));
          return reply(settled.map((s) => entry(s, encode)));
        }
        case "/multi-exec":
          return await multiExec(toCommands(body), encode);
        default:
          return reply({ error: `Not found: ${path}` }, 404);
      }
    } catch (err) {
      if (err instanceof BridgeError) return reply({ error: err.message }, err.status);
      if (err instanceof RespError) return reply({ error: err.message }, 400);
      return reply({ error: errorMessage(err) }, 500);
    }
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
      for (const tx of transactions) tx.close();
      client.close();
    },
  };
}
