/** Placeholder: being written (docs/orders.md). */
export interface PartnerConsoleProps {
  [key: string]: unknown;
}

/** PartnerConsole. */
export default function PartnerConsole(_props: PartnerConsoleProps) {
  return <div class="map-loading">Loading…</div>;
}
