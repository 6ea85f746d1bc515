/** Placeholder until the island lands. */
export interface LiveCountersProps {
  [key: string]: unknown;
}

/** Placeholder. */
export default function LiveCounters(_props: LiveCountersProps) {
  return null;
}
