/** In-memory KV for embedded mode and tests; expired keys are dropped lazily and by a sweep. */
import type { Kv } from "./port.ts";

/** Creates an in-memory {@link Kv}. */
export function memoryKv(now: () => number = Date.now): Kv {
  const store = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const e = store.get(key);
    if (e && e.expiresAt <= now()) {
      store.delete(key);
      return undefined;
    }
    return e;
  };
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, e] of store) if (e.expiresAt <= t) store.delete(k);
  }, 60_000);
  Deno.unrefTimer(sweep);
  return {
    kind: "memory",
    get: (key) => Promise.resolve(live(key)?.value ?? null),
    set(key, value, options = {}) {
      if (options.nx && live(key)) return Promise.resolve(false);
      store.set(key, { value, expiresAt: options.ttlMs ? now() + options.ttlMs : Infinity });
      return Promise.resolve(true);
    },
    incr(key, ttlMs) {
      const e = live(key);
      const current = e ? Number(e.value) : 0;
      if (!Number.isSafeInteger(current)) {
        return Promise.reject(new Error("ERR value is not an integer or out of range"));
      }
      const value = current + 1;
      store.set(key, { value: String(value), expiresAt: e ? e.expiresAt : now() + ttlMs });
      return Promise.resolve(value);
    },
    del(key) {
      store.delete(key);
      return Promise.resolve();
    },
    ping: () => Promise.resolve(),
    close() {
      clearInterval(sweep);
      store.clear();
      return Promise.resolve();
    },
  };
}
