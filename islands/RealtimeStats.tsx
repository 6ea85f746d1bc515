/** Live realtime figures for admins: polls `/api/v1/admin/realtime` every 2 s and shows rates. */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";

/** Props: the figures rendered on the server, shown until the first poll. */
export interface RealtimeStatsProps {
  [key: string]: unknown;
  initial: Record<string, number | string>;
}

const labels: [string, string][] = [
  ["connections", "Connections"],
  ["channels", "Channels"],
  ["subscriptions", "Subscriptions"],
  ["presences", "Presences"],
  ["peers", "Other processes"],
];

/** The stats panel. */
export default function RealtimeStats({ initial }: RealtimeStatsProps) {
  const stats = useSignal(initial);
  const rates = useSignal({ inPerSecond: 0, outPerSecond: 0 });
  const error = useSignal("");

  useEffect(() => {
    let last = {
      at: Date.now(),
      messagesIn: Number(initial.messagesIn),
      delivered: Number(initial.delivered),
    };
    const timer = setInterval(async () => {
      try {
        const res = await fetch("/api/v1/admin/realtime", { headers: { accept: "application/json" } });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const next = (await res.json()).stats as Record<string, number | string>;
        const now = Date.now();
        const secs = Math.max(0.001, (now - last.at) / 1000);
        rates.value = {
          inPerSecond: Math.max(0, (Number(next.messagesIn) - last.messagesIn) / secs),
          outPerSecond: Math.max(0, (Number(next.delivered) - last.delivered) / secs),
        };
        last = { at: now, messagesIn: Number(next.messagesIn), delivered: Number(next.delivered) };
        stats.value = next;
        error.value = "";
      } catch (err) {
        error.value = `Could not refresh: ${(err as Error).message}`;
      }
    }, 2000);
    return () => clearInterval(timer);
  }, []);

  return (
    <div data-testid="realtime-stats">
      {error.value && <p class="status error" role="status">{error.value}</p>}
      <dl class="stats">
        {labels.map(([key, label]) => (
          <div key={key}>
            <dt>{label}</dt>
            <dd data-testid={`stat-${key}`}>{stats.value[key]}</dd>
          </div>
        ))}
        <div>
          <dt>Messages in / s</dt>
          <dd data-testid="stat-in-rate">{rates.value.inPerSecond.toFixed(1)}</dd>
        </div>
        <div>
          <dt>Deliveries / s</dt>
          <dd data-testid="stat-out-rate">{rates.value.outPerSecond.toFixed(1)}</dd>
        </div>
      </dl>
    </div>
  );
}
