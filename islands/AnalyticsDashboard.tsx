/** Placeholder until the island lands. */
export interface AnalyticsDashboardProps {
  [key: string]: unknown;
}

/** Placeholder. */
export default function AnalyticsDashboard(_props: AnalyticsDashboardProps) {
  return null;
}
