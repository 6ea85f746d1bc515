/**
 * Camera check-in for organizers: where the browser has `BarcodeDetector` and a camera, a "Scan with
 * camera" button opens the rear camera, reads QR codes about every 300 ms and checks each ticket in
 * through the API. Elsewhere it renders nothing and the typed form on the page does the job.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";

/** Props: the event being checked in. */
export interface CheckinScannerProps {
  [key: string]: unknown;
  eventId: string;
}

interface ScanResult {
  kind: "ok" | "warn" | "error";
  text: string;
  at: number;
}

/** The part of the Barcode Detection API this island uses (not in TypeScript's DOM types yet). */
interface Detector {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type DetectorClass = new (options: { formats: string[] }) => Detector;

const SCAN_EVERY_MS = 300;
const SAME_CODE_MS = 3000;

function supported(): boolean {
  return "BarcodeDetector" in globalThis && !!navigator.mediaDevices?.getUserMedia;
}

async function checkIn(eventId: string, code: string): Promise<ScanResult> {
  const at = Date.now();
  try {
    const res = await fetch(`/api/v1/events/${eventId}/checkin`, {
      method: "POST",
      credentials: "same-origin",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    const data = await res.json().catch(() => ({}));
    if (res.ok) {
      const guests = Number(data.guests) > 0 ? ` +${data.guests} guest${data.guests > 1 ? "s" : ""}` : "";
      return { kind: "ok", text: `Checked in: ${data.name || "guest"}${guests}`, at };
    }
    const message = data?.error?.message ?? `Check-in failed (HTTP ${res.status}).`;
    return { kind: res.status === 409 ? "warn" : "error", text: message, at };
  } catch {
    return { kind: "error", text: "No connection. Try again or type the code.", at };
  }
}

/** The camera scanner. */
export default function CheckinScanner({ eventId }: CheckinScannerProps) {
  const available = useSignal(false);
  const scanning = useSignal(false);
  const problem = useSignal("");
  const result = useSignal<ScanResult | null>(null);
  const recent = useSignal<ScanResult[]>([]);
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);
  const timer = useRef<ReturnType<typeof setInterval> | undefined>(undefined);
  const seen = useRef(new Map<string, number>());
  const busy = useRef(false);

  useEffect(() => {
    available.value = supported();
    return () => stop();
  }, []);

  function stop() {
    clearInterval(timer.current);
    timer.current = undefined;
    stream.current?.getTracks().forEach((t) => t.stop());
    stream.current = null;
    scanning.value = false;
  }

  async function scan(detector: Detector) {
    const el = video.current;
    if (busy.current || !el || el.readyState < 2) return;
    busy.current = true;
    try {
      const codes = await detector.detect(el);
      const now = Date.now();
      for (const { rawValue } of codes) {
        const code = rawValue.trim();
        if (!code || now - (seen.current.get(code) ?? 0) < SAME_CODE_MS) continue;
        seen.current.set(code, now);
        const r = await checkIn(eventId, code);
        result.value = r;
        recent.value = [r, ...recent.value].slice(0, 8);
        navigator.vibrate?.(r.kind === "ok" ? 80 : [60, 60, 60]);
      }
    } catch {
      // A frame the detector cannot read; the next tick tries again.
    } finally {
      busy.current = false;
    }
  }

  async function start() {
    problem.value = "";
    try {
      const Detector = (globalThis as unknown as { BarcodeDetector: DetectorClass }).BarcodeDetector;
      const detector = new Detector({ formats: ["qr_code"] });
      stream.current = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
      scanning.value = true;
      // The <video> renders once scanning is true.
      await new Promise((r) => requestAnimationFrame(r));
      const el = video.current!;
      el.srcObject = stream.current;
      await el.play();
      timer.current = setInterval(() => scan(detector), SCAN_EVERY_MS);
    } catch (err) {
      stop();
      problem.value = err instanceof DOMException && err.name === "NotAllowedError"
        ? "Camera access was denied. Type the code instead."
        : "The camera could not be opened. Type the code instead.";
    }
  }

  if (!available.value) return null;
  return (
    <section class="scanner" aria-labelledby="scanner-title">
      <h2 id="scanner-title">Scan tickets</h2>
      {scanning.value
        ? (
          <>
            <video ref={video} class="scanner-video" playsInline muted aria-label="Camera preview" />
            <button type="button" class="secondary" onClick={stop}>Stop camera</button>
          </>
        )
        : <button type="button" onClick={start}>Scan with camera</button>}
      {problem.value && <p class="status error" role="alert">{problem.value}</p>}
      <p
        class={`scan-result ${result.value ? `scan-${result.value.kind}` : ""}`}
        role="status"
        aria-live="assertive"
      >
        {result.value?.text ?? (scanning.value ? "Point the camera at a ticket's QR code." : "")}
      </p>
      {recent.value.length > 0 && (
        <ul class="scan-recent">
          {recent.value.map((r) => (
            <li key={r.at} class={`scan-${r.kind}`}>
              <time dateTime={new Date(r.at).toISOString()}>
                {new Date(r.at).toLocaleTimeString([], {
                  hour: "2-digit",
                  minute: "2-digit",
                  second: "2-digit",
                })}
              </time>{" "}
              {r.text}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
