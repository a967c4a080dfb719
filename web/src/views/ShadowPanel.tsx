/** Shadow comparison of one experiment (GET /v1/admin/experiments/:name/shadow): the served answer against each candidate's. */
import { useQuery } from "@tanstack/react-query";
import { apiJson } from "../api";
import { useAuth } from "../auth";
import { type Column, SortableTable } from "../table";
import { ErrorNote, Loading } from "../ui";

interface ShadowRow {
  candidate: string;
  comparisons: number;
  primary_success_rate: number | null;
  candidate_success_rate: number | null;
  primary_latency_ms_mean: number | null;
  candidate_latency_ms_mean: number | null;
  candidate_timeouts: number;
  rouge_l_mean: number | null;
  chrf_mean: number | null;
  judged: number;
  judge: { primary: number; candidate: number; tie: number };
}

const rate = (x: number | null) => (x === null ? "—" : `${(x * 100).toFixed(1)}%`);
const ms = (x: number | null) => (x === null ? "—" : `${Math.round(x)} ms`);
const score = (x: number | null) => (x === null ? "—" : x.toFixed(3));

const COLUMNS: Column<ShadowRow>[] = [
  { label: "Candidate", value: (r) => r.candidate },
  { label: "Comparisons", value: (r) => r.comparisons },
  { label: "Served success", value: (r) => r.primary_success_rate, render: (r) => rate(r.primary_success_rate) },
  { label: "Candidate success", value: (r) => r.candidate_success_rate, render: (r) => rate(r.candidate_success_rate) },
  { label: "Served latency", value: (r) => r.primary_latency_ms_mean, render: (r) => ms(r.primary_latency_ms_mean) },
  {
    label: "Candidate latency",
    value: (r) => r.candidate_latency_ms_mean,
    render: (r) => ms(r.candidate_latency_ms_mean),
  },
  { label: "Timeouts", value: (r) => r.candidate_timeouts },
  { label: "ROUGE-L", value: (r) => r.rouge_l_mean, render: (r) => score(r.rouge_l_mean) },
  { label: "chrF", value: (r) => r.chrf_mean, render: (r) => score(r.chrf_mean) },
  {
    label: "Judge (served / candidate / tie)",
    value: (r) => r.judged,
    render: (r) => (r.judged ? `${r.judge.primary} / ${r.judge.candidate} / ${r.judge.tie}` : "—"),
  },
];

export function ShadowPanel(props: { name: string }) {
  const { key } = useAuth();
  const q = useQuery({
    queryKey: ["shadow", props.name],
    queryFn: () =>
      apiJson<{ summary: ShadowRow[] }>(key, `/v1/admin/experiments/${encodeURIComponent(props.name)}/shadow?limit=0`),
  });
  if (q.isPending) return <Loading what="the shadow comparison" />;
  if (q.error) return <ErrorNote error={q.error} what="Could not load the shadow comparison" />;
  if (q.data.summary.length === 0) return null;
  return (
    <SortableTable caption="Shadow comparison" columns={COLUMNS} rows={q.data.summary} rowKey={(r) => r.candidate} />
  );
}
