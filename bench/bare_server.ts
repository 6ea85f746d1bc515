/**
 * The baseline for `bench/main.ts`: a bare `Deno.serve` hello world, run in its own process so it
 * does not share an event loop with the load generator. Listens on 127.0.0.1 and the port given as
 * the first argument (0: any free port), and prints `{"port":N}` on stdout once listening.
 */
const port = Number(Deno.args[0] ?? 0);
const abort = new AbortController();
const server = Deno.serve({
  hostname: "127.0.0.1",
  port,
  signal: abort.signal,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, () => new Response("Hello, world!", { headers: { "content-type": "text/plain; charset=utf-8" } }));
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => abort.abort());
await server.finished;
