/** Placeholder until the island lands. */
export interface ReportWorkbenchProps {
  [key: string]: unknown;
}

/** Placeholder. */
export default function ReportWorkbench(_props: ReportWorkbenchProps) {
  return null;
}
