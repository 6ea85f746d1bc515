/**
 * CPU accounting for the chat benchmark: how many cores this bench's processes used during a phase
 * (the bench, its children: Plaza and the clients, and the Postgres backends of its scratch
 * database) and how many everything else on the machine used. On a shared 2-core machine, other
 * programs' load is the first thing to rule out when a latency figure looks wrong.
 */

interface Reading {
  wall: number;
  /** CPU seconds by pid (processes of interest). */
  ours: number;
  /** Busy and total CPU seconds of the machine. */
  busy: number;
  total: number;
}

/** CPU seconds (user + system) this process has used so far (Linux; 0 elsewhere). */
export function ownCpuSeconds(): number {
  return statSeconds("self")?.seconds ?? 0;
}

/** CPU use over a phase, in cores. */
export interface CpuUse {
  /** The bench, its child processes, and Postgres backends of its database. */
  ours: number;
  /** Everything else on the machine. */
  other: number;
  /** Load average (1 min) at the end. */
  load1: number;
}

function statSeconds(pid: string): { ppid: string; seconds: number } | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: fields[1], seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined;
  }
}

function read(database: string | undefined): Reading | undefined {
  try {
    const self = String(Deno.pid);
    const procs = new Map<string, { ppid: string; seconds: number; cmd: string }>();
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      const s = statSeconds(e.name);
      if (!s) continue;
      let cmd = "";
      try {
        cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      } catch { /* exited */ }
      procs.set(e.name, { ...s, cmd });
    }
    const mine = (pid: string): boolean => {
      for (let p: string | undefined = pid, i = 0; p && p !== "0" && i < 64; p = procs.get(p)?.ppid, i++) {
        if (p === self) return true;
      }
      return false;
    };
    let ours = 0;
    for (const [pid, p] of procs) {
      if (mine(pid) || (database && p.cmd.startsWith("postgres:") && p.cmd.includes(` ${database} `))) {
        ours += p.seconds;
      }
    }
    const all = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = all.slice(0, 8).reduce((a, b) => a + b, 0);
    return {
      wall: performance.now() / 1000,
      ours,
      busy: (total - all[3] - all[4]) / 100,
      total: total / 100,
    };
  } catch {
    return undefined; // not Linux
  }
}

/**
 * Starts measuring; the result, called at the end of the phase, gives the cores used meanwhile.
 * `database`: the scratch database's name, whose Postgres backends count as ours. Processes that
 * exited during the phase are not seen: pass the CPU seconds they reported as `exitedSeconds`.
 */
export function cpuMeter(database?: string): (exitedSeconds?: number) => CpuUse | undefined {
  const start = read(database);
  return (exitedSeconds = 0) => {
    const end = read(database);
    if (!start || !end || end.total <= start.total) return undefined;
    const wall = end.wall - start.wall;
    const cores = navigator.hardwareConcurrency;
    const busy = ((end.busy - start.busy) / (end.total - start.total)) * cores;
    const ours = Math.max(0, end.ours - start.ours + exitedSeconds) / wall;
    return { ours, other: Math.max(0, busy - ours), load1: Deno.loadavg()[0] };
  };
}
