/**
 * A full-screen image viewer shared by the media library and chat: a modal dialog (focus trapped,
 * Escape closes, focus goes back to the opener), previous/next by buttons, ←/→ and swipes, zoom
 * (double-click or double-tap, +/−, the wheel) with panning by dragging while zoomed, a "3 / 12"
 * counter, and the item's dominant colour as a placeholder while the image loads.
 *
 * Styles are classes in static/styles.css (`.lightbox*`); the few dynamic values (placeholder colour,
 * aspect ratio, zoom transform) are set on elements from script, which the CSP allows.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/** One image the lightbox can show. */
export interface LightboxItem {
  src: string;
  alt: string;
  width: number | null;
  height: number | null;
  color: string | null;
  downloadUrl?: string;
}

/** Props for {@link Lightbox}. */
export interface LightboxProps {
  items: LightboxItem[];
  index: number;
  onIndex(i: number): void;
  onClose(): void;
}

const MAX_ZOOM = 4;
const SWIPE_PX = 50;
const DOUBLE_TAP_MS = 300;

const FOCUSABLE = 'button:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

/** The lightbox dialog. Render it only while open. */
export function Lightbox({ items, index, onIndex, onClose }: LightboxProps): JSX.Element {
  const dialog = useRef<HTMLDivElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const img = useRef<HTMLImageElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  const [zoom, setZoom] = useState(1);
  const [loaded, setLoaded] = useState(false);
  const pan = useRef({ x: 0, y: 0 });
  const gesture = useRef<
    { id: number; type: string; x: number; y: number; px: number; py: number; moved: boolean } | null
  >(null);
  const lastTap = useRef(0);
  /** Set while unmounting, so the focus trap lets focus go back to the opener. */
  const closing = useRef(false);
  /** Whatever had focus when the lightbox opened (read during the first render, before any effect). */
  const [opener] = useState(() =>
    typeof document === "undefined" ? null : document.activeElement as HTMLElement | null
  );
  const count = items.length;
  const item = items[Math.max(0, Math.min(index, count - 1))];
  const hasPrev = index > 0;
  const hasNext = index < count - 1;

  // Keep the latest callbacks for listeners registered once.
  const latest = useRef({ index, count, onIndex, onClose, zoom });
  latest.current = { index, count, onIndex, onClose, zoom };

  const applyTransform = () => {
    const el = img.current;
    if (!el) return;
    const z = latest.current.zoom;
    el.style.transform = z === 1 ? "" : `translate(${pan.current.x}px, ${pan.current.y}px) scale(${z})`;
  };

  const setZoomTo = (z: number) => {
    const next = Math.max(1, Math.min(MAX_ZOOM, z));
    if (next === 1) pan.current = { x: 0, y: 0 };
    latest.current.zoom = next;
    setZoom(next);
    applyTransform();
  };

  const go = (i: number) => {
    const { count, onIndex } = latest.current;
    if (i < 0 || i >= count) return;
    onIndex(i);
  };

  // Opening: remember the opener, focus the dialog, stop the page from scrolling behind it.
  useEffect(() => {
    closeButton.current?.focus();
    const overflow = document.body.classList.contains("lightbox-open");
    document.body.classList.add("lightbox-open");
    return () => {
      closing.current = true;
      if (!overflow) document.body.classList.remove("lightbox-open");
      if (opener && opener.isConnected) opener.focus();
    };
  }, []);

  // A new image: reset zoom and pan, show the placeholder until it loads.
  useEffect(() => {
    pan.current = { x: 0, y: 0 };
    latest.current.zoom = 1;
    setZoom(1);
    applyTransform();
    const done = !!img.current?.complete && (img.current?.naturalWidth ?? 0) > 0;
    setLoaded(done);
    const f = frame.current;
    if (f) {
      f.style.backgroundColor = done ? "" : item?.color ?? "";
      // The frame keeps the image's shape (fitted in CSS with container units) before it loads.
      if (item?.width && item?.height) f.style.setProperty("--ar", String(item.width / item.height));
      else f.style.removeProperty("--ar");
    }
  }, [item?.src]);

  useEffect(() => {
    if (loaded && frame.current) frame.current.style.backgroundColor = "";
  }, [loaded]);

  useEffect(applyTransform, [zoom]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.defaultPrevented) return;
    const { index, zoom } = latest.current;
    if (e.key === "Escape") {
      e.preventDefault();
      latest.current.onClose();
    } else if (e.key === "ArrowLeft") {
      e.preventDefault();
      go(index - 1);
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      go(index + 1);
    } else if (e.key === "+" || e.key === "=") {
      e.preventDefault();
      setZoomTo(zoom + 1);
    } else if (e.key === "-" || e.key === "_") {
      e.preventDefault();
      setZoomTo(zoom - 1);
    } else if (e.key === "Tab") {
      // Focus trap: Tab cycles inside the dialog.
      const nodes = [...(dialog.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
      if (nodes.length === 0) return;
      const first = nodes[0];
      const last = nodes[nodes.length - 1];
      const active = document.activeElement;
      if (e.shiftKey && (active === first || !dialog.current?.contains(active))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || !dialog.current?.contains(active))) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  // Keys anywhere on the page while open (focus can land on the image area); focus kept inside.
  useEffect(() => {
    const keys = (e: KeyboardEvent) => onKeyDown(e);
    const trap = (e: FocusEvent) => {
      const d = dialog.current;
      if (!closing.current && d && e.target instanceof Node && !d.contains(e.target)) {
        closeButton.current?.focus();
      }
    };
    document.addEventListener("keydown", keys);
    document.addEventListener("focusin", trap);
    return () => {
      document.removeEventListener("keydown", keys);
      document.removeEventListener("focusin", trap);
    };
  }, []);

  // The wheel zooms (needs a non-passive listener to stop the page scrolling).
  useEffect(() => {
    const el = stage.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const z = latest.current.zoom;
      setZoomTo(e.deltaY < 0 ? z + 1 : z - 1);
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    gesture.current = {
      id: e.pointerId,
      type: e.pointerType,
      x: e.clientX,
      y: e.clientY,
      px: pan.current.x,
      py: pan.current.y,
      moved: false,
    };
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
  };

  const onPointerMove = (e: PointerEvent) => {
    const g = gesture.current;
    if (!g || g.id !== e.pointerId) return;
    const dx = e.clientX - g.x;
    const dy = e.clientY - g.y;
    if (Math.abs(dx) > 4 || Math.abs(dy) > 4) g.moved = true;
    if (latest.current.zoom > 1) {
      e.preventDefault();
      pan.current = { x: g.px + dx, y: g.py + dy };
      applyTransform();
    }
  };

  const onPointerUp = (e: PointerEvent) => {
    const g = gesture.current;
    if (!g || g.id !== e.pointerId) return;
    gesture.current = null;
    const dx = e.clientX - g.x;
    const dy = e.clientY - g.y;
    const z = latest.current.zoom;
    if (z === 1 && g.type !== "mouse" && Math.abs(dx) > SWIPE_PX && Math.abs(dx) > Math.abs(dy)) {
      go(latest.current.index + (dx < 0 ? 1 : -1));
      return;
    }
    // Double tap (touch and pen; the mouse has dblclick).
    if (g.type !== "mouse" && !g.moved) {
      const now = Date.now();
      if (now - lastTap.current < DOUBLE_TAP_MS) {
        lastTap.current = 0;
        setZoomTo(z === 1 ? 2 : 1);
      } else lastTap.current = now;
    }
  };

  const onBackdropClick = (e: MouseEvent) => {
    // A click on the dark area around the image (not a drag) closes.
    if (e.target === e.currentTarget && !gesture.current) onClose();
  };

  if (!item) return <div />;
  return (
    <div
      class="lightbox"
      role="dialog"
      aria-modal="true"
      aria-label={`Image ${index + 1} of ${count}: ${item.alt}`}
      ref={dialog}
      tabIndex={-1}
      data-testid="lightbox"
    >
      <div class="lightbox-bar">
        <span class="lightbox-count" aria-live="polite" data-testid="lightbox-count">
          {index + 1} / {count}
        </span>
        <span class="lightbox-title">{item.alt}</span>
        <div class="lightbox-tools">
          <button
            type="button"
            class="lightbox-btn"
            onClick={() => setZoomTo(zoom - 1)}
            disabled={zoom <= 1}
            aria-label="Zoom out"
          >
            −
          </button>
          <button
            type="button"
            class="lightbox-btn"
            onClick={() => setZoomTo(zoom + 1)}
            disabled={zoom >= MAX_ZOOM}
            aria-label="Zoom in"
          >
            +
          </button>
          {item.downloadUrl && (
            <a class="lightbox-btn" href={item.downloadUrl} download aria-label="Download">
              ⤓
            </a>
          )}
          <button
            type="button"
            class="lightbox-btn"
            onClick={onClose}
            ref={closeButton}
            aria-label="Close"
          >
            ✕
          </button>
        </div>
      </div>
      <div
        class={zoom > 1 ? "lightbox-stage zoomed" : "lightbox-stage"}
        ref={stage}
        onClick={onBackdropClick}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => gesture.current = null}
        onDblClick={(e) => {
          e.preventDefault();
          setZoomTo(zoom === 1 ? 2 : 1);
        }}
      >
        <div
          class={`lightbox-frame${item.width && item.height ? " sized" : ""}${loaded ? "" : " loading"}`}
          ref={frame}
        >
          <img
            key={item.src}
            ref={img}
            class="lightbox-img"
            src={item.src}
            alt={item.alt}
            width={item.width ?? undefined}
            height={item.height ?? undefined}
            draggable={false}
            onLoad={() => setLoaded(true)}
            onError={() => setLoaded(true)}
          />
        </div>
      </div>
      <button
        type="button"
        class="lightbox-nav prev"
        onClick={() => go(index - 1)}
        disabled={!hasPrev}
        aria-label="Previous image"
      >
        ‹
      </button>
      <button
        type="button"
        class="lightbox-nav next"
        onClick={() => go(index + 1)}
        disabled={!hasNext}
        aria-label="Next image"
      >
        ›
      </button>
    </div>
  );
}
