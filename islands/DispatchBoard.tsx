/** Placeholder: being written (docs/orders.md). */
export interface DispatchBoardProps {
  [key: string]: unknown;
}

/** DispatchBoard. */
export default function DispatchBoard(_props: DispatchBoardProps) {
  return <div class="map-loading">Loading…</div>;
}
