/** Placeholder: being written (docs/orders.md). */
export interface OrderTrackerProps {
  [key: string]: unknown;
}

/** OrderTracker. */
export default function OrderTracker(_props: OrderTrackerProps) {
  return <div class="map-loading">Loading…</div>;
}
