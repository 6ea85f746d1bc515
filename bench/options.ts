/** Command-line options of the benchmarks: `--name=<integer>` within bounds, `--explain`, `--help`. */

/** Parses `args` into `defaults` (integers only) plus `explain`; prints `usage` and exits on errors. */
export function parseBenchOptions<K extends string>(
  args: string[],
  defaults: Record<K, number>,
  bounds: Record<K, [number, number]>,
  usage: string,
): Record<K, number> & { explain: boolean } {
  const options = { ...defaults, explain: false };
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    if (arg === "--explain") {
      options.explain = true;
      continue;
    }
    const m = /^--([a-z]+)=(\d+)$/.exec(arg);
    const key = m?.[1] as K | undefined;
    if (!m || !key || !(key in defaults)) {
      console.error(`Unknown argument: ${arg}\n${usage}`);
      Deno.exit(64);
    }
    const value = Number(m[2]);
    const [min, max] = bounds[key];
    if (value < min || value > max) {
      console.error(`--${key} must be an integer from ${min} to ${max}`);
      Deno.exit(64);
    }
    options[key] = value as (typeof options)[K];
  }
  return options;
}
