/**
 * The RSVP timeline on the organizer dashboard: going and waitlisted people after each change, as a
 * uPlot step chart that follows the container's width and the light or dark colour scheme. uPlot is
 * loaded only in the browser, only here. The server renders the same points as a table in a
 * <details>, which is also what screen readers and browsers without JavaScript get.
 */
import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import { formatInZone } from "@/lib/events/zones.ts";

/** One point of the timeline. */
export interface RsvpPoint {
  at: string;
  going: number;
  waitlisted: number;
}

/** Props: the timeline from eventStats and the event's time zone for the labels. */
export interface RsvpChartProps {
  [key: string]: unknown;
  timeline: RsvpPoint[];
  timezone: string;
}

const HEIGHT = 240;

function colours(el: Element) {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    going: v("--accent", "#4338ca"),
    waitlisted: v("--focus", "#f59e0b"),
    text: v("--muted", "#555770"),
    grid: v("--border", "#dcdce6"),
  };
}

/** "21 Nov" in the zone. */
const shortDate = (d: Date, tz: string) => formatInZone(d, tz, "date").split(" ").slice(1, 3).join(" ");

function options(
  U: typeof uPlot,
  width: number,
  tz: string,
  c: ReturnType<typeof colours>,
  spanSeconds: number,
): uPlot.Options {
  const axis = { stroke: c.text, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
  const stepped = U.paths.stepped!({ align: 1 });
  // Axis labels in the event's zone, 24-hour: times within a day or so, dates beyond.
  const label = (s: number) =>
    spanSeconds < 36 * 3600
      ? formatInZone(new Date(s * 1000), tz, "time")
      : shortDate(new Date(s * 1000), tz);
  return {
    width,
    height: HEIGHT,
    tzDate: (ts) => U.tzDate(new Date(ts * 1000), tz),
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
    axes: [
      {
        ...axis,
        values: (_u, splits) => splits.map(label).map((l, i, all) => (i > 0 && all[i - 1] === l ? "" : l)),
      },
      { ...axis, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
    ],
    series: [
      { label: "Time", value: (_u, v) => (v == null ? "–" : formatInZone(new Date(v * 1000), tz)) },
      { label: "Going", stroke: c.going, width: 2, fill: `${c.going}22`, paths: stepped },
      { label: "Waitlisted", stroke: c.waitlisted, width: 2, dash: [6, 4], paths: stepped },
    ],
  };
}

/** The chart, with its data table. */
export default function RsvpChart({ timeline, timezone }: RsvpChartProps) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el || timeline.length < 2) return;
    let chart: uPlot | undefined;
    let stopped = false;
    const data: uPlot.AlignedData = [
      timeline.map((p) => Date.parse(p.at) / 1000),
      timeline.map((p) => p.going),
      timeline.map((p) => p.waitlisted),
    ];
    const scheme = matchMedia("(prefers-color-scheme: dark)");
    let draw = () => {};
    const resize = new ResizeObserver(() => chart?.setSize({ width: el.clientWidth, height: HEIGHT }));
    import("uplot").then(({ default: U }) => {
      if (stopped) return;
      draw = () => {
        chart?.destroy();
        const span = data[0].length ? data[0][data[0].length - 1] - data[0][0] : 0;
        chart = new U(options(U, el.clientWidth, timezone, colours(el), span), data, el);
      };
      draw();
      resize.observe(el);
      scheme.addEventListener("change", draw);
    }).catch(() => el.classList.add("chart-failed"));
    return () => {
      stopped = true;
      resize.disconnect();
      scheme.removeEventListener("change", draw);
      chart?.destroy();
    };
  }, [timeline, timezone]);

  return (
    <figure class="rsvp-chart">
      <figcaption>RSVPs over time ({timezone})</figcaption>
      {timeline.length < 2
        ? <p class="muted">The chart appears after the first RSVPs.</p>
        : <div ref={box} class="rsvp-chart-canvas" aria-hidden="true" />}
      <details class="chart-data">
        <summary>Chart data as a table</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Going</th>
                <th scope="col">Waitlisted</th>
              </tr>
            </thead>
            <tbody>
              {timeline.map((p, i) => (
                <tr key={i}>
                  <td>
                    <time dateTime={p.at}>{formatInZone(new Date(p.at), timezone)}</time>
                  </td>
                  <td>{p.going}</td>
                  <td>{p.waitlisted}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
