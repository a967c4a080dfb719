/**
 * Admin dashboard: an experiment's report (GET /v1/experiments/:name/report:
 * the GO / NO-GO verdict and its criteria, per variant success, latency and
 * feedback with intervals), its traffic share and latency over time
 * (ExperimentTrends), and route usage over time (GET /v1/admin/usage).
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import {
  apiJson,
  type Estimate,
  type ExperimentReport,
  type ExperimentSummary,
  type Usage,
  type VariantReport,
} from "../api";
import { useAuth } from "../auth";
import { BarsChart, type Series, TimeChart } from "../chart";
import { type Column, SortableTable } from "../table";
import { ErrorNote, Loading } from "../ui";
import { ExperimentControls } from "./ExperimentControls";
import { ExperimentTrends } from "./ExperimentTrends";
import { NewExperiment } from "./NewExperiment";
import { ShadowPanel } from "./ShadowPanel";

const pct = (x: number) => `${(x * 100).toFixed(x >= 0.995 || x < 0.1 ? 0 : 1)}%`;
const withInterval = (e: Estimate | null, fmt: (x: number) => string) =>
  e ? `${fmt(e.estimate)} (${fmt(e.lo)}–${fmt(e.hi)})` : "—";
const ms = (x: number | null) => (x === null ? "—" : `${Math.round(x)} ms`);

const VERDICT: Record<ExperimentReport["verdict"]["decision"], string> = {
  go: "GO",
  no_go: "NO-GO",
  pending: "Pending (not enough data yet)",
  no_criteria: "No criteria declared",
};

const VARIANT_COLUMNS: Column<VariantReport>[] = [
  { label: "Variant", value: (v) => v.variant, render: (v) => `${v.variant}${v.isControl ? " (control)" : ""}` },
  { label: "Share", value: (v) => v.share, render: (v) => pct(v.share) },
  { label: "Requests", value: (v) => v.requests },
  {
    label: "Success",
    value: (v) => v.successRate?.estimate ?? null,
    render: (v) => withInterval(v.successRate, pct),
  },
  { label: "p50", value: (v) => v.latencyMs.p50, render: (v) => ms(v.latencyMs.p50) },
  { label: "p95", value: (v) => v.latencyMs.p95, render: (v) => ms(v.latencyMs.p95) },
  { label: "p99", value: (v) => v.latencyMs.p99, render: (v) => ms(v.latencyMs.p99) },
  {
    label: "Thumbs up",
    value: (v) => v.thumbsUp.rate?.estimate ?? null,
    render: (v) =>
      `${v.thumbsUp.up} of ${v.thumbsUp.n}${v.thumbsUp.rate ? ` · ${withInterval(v.thumbsUp.rate, pct)}` : ""}`,
  },
  {
    label: "Stars",
    value: (v) => v.stars.mean?.estimate ?? null,
    render: (v) => (v.stars.mean ? withInterval(v.stars.mean, (x) => x.toFixed(1)) : `— (${v.stars.n})`),
  },
  {
    label: "Win rate",
    value: (v) => v.preference.winRate?.estimate ?? null,
    render: (v) => withInterval(v.preference.winRate, pct),
  },
];

function ExperimentPanel(props: { name: string }) {
  const { key } = useAuth();
  const report = useQuery({
    queryKey: ["report", props.name],
    queryFn: () => apiJson<ExperimentReport>(key, `/v1/experiments/${encodeURIComponent(props.name)}/report`),
  });
  if (report.isPending) return <Loading what="the report" />;
  if (report.error) return <ErrorNote error={report.error} what="Could not load the report" />;
  const r = report.data;
  return (
    <div className="report">
      <p className={`verdict ${r.verdict.decision}`}>
        Verdict: <strong>{VERDICT[r.verdict.decision]}</strong>
        <span className="muted small">
          {" "}
          · route {r.route} · {r.status}
        </span>
      </p>
      {r.verdict.criteria.length > 0 && (
        <ul className="criteria">
          {r.verdict.criteria.map((c) => (
            <li key={`${c.variant}-${c.metric}`} data-status={c.status}>
              {c.variant}: {c.metric} {c.op} {c.threshold} — <strong>{c.status}</strong>
              {c.observed !== null &&
                ` (observed ${Array.isArray(c.observed) ? c.observed.map((x) => x.toFixed(3)).join(" to ") : c.observed.toFixed(3)}, n = ${c.n})`}
            </li>
          ))}
        </ul>
      )}
      <SortableTable caption="Variants" columns={VARIANT_COLUMNS} rows={r.variants} rowKey={(v) => v.variant} />
      <LatencyDistribution histogram={r.latencyHistogram} />
    </div>
  );
}

const binLabel = (upTo: number | null, prev: number | null) =>
  upTo === null ? `> ${msText(prev ?? 0)}` : `≤ ${msText(upTo)}`;
const msText = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

/** How successful answers' latency is spread, per variant: a histogram and the same counts in a table. */
function LatencyDistribution(props: { histogram: ExperimentReport["latencyHistogram"] }) {
  const variants = Object.keys(props.histogram ?? {});
  const first = variants[0] ? (props.histogram[variants[0]] ?? []) : [];
  if (first.length === 0) return null;
  const labels = first.map((b, i) => binLabel(b.upToMs, first[i - 1]?.upToMs ?? null));
  const series = variants.map((v) => ({ label: v, values: (props.histogram[v] ?? []).map((b) => b.count) }));
  // Sorting by "Latency" keeps the bins' own order (by their index); a variant's column sorts by count.
  const rows = labels.map((label, i) => ({ label, i, counts: series.map((s) => s.values[i] ?? 0) }));
  const columns: Column<(typeof rows)[number]>[] = [
    { label: "Latency", value: (r) => r.i, render: (r) => r.label },
    ...variants.map((v, k) => ({ label: v, value: (r: (typeof rows)[number]) => r.counts[k] ?? 0 })),
  ];
  return (
    <section aria-label="Latency distribution">
      <BarsChart
        title="Latency of successful answers (requests per bin)"
        bins={labels}
        series={series}
        unit="requests"
      />
      <SortableTable caption="Latency distribution" columns={columns} rows={rows} rowKey={(r) => r.label} />
    </section>
  );
}

interface RouteTotal {
  route: string;
  requests: number;
  errors: number;
  cost: number;
}

const TOTAL_COLUMNS: Column<RouteTotal>[] = [
  { label: "Route", value: (t) => t.route },
  { label: "Requests", value: (t) => t.requests },
  { label: "Errors", value: (t) => t.errors },
  { label: "Cost (USD)", value: (t) => t.cost, render: (t) => t.cost.toFixed(4) },
];

function UsagePanel() {
  const { key } = useAuth();
  const [bucket, setBucket] = useState<"hour" | "day">("hour");
  const usage = useQuery({
    queryKey: ["usage", bucket],
    queryFn: () => apiJson<Usage>(key, `/v1/admin/usage?bucket=${bucket}`),
  });
  const routes = usage.data?.routes ?? [];
  const span: [number, number] = usage.data ? [usage.data.from, usage.data.to] : [0, 1];
  const requests: Series[] = routes.map((r) => ({ label: r.route, points: r.points.map((p) => [p.t, p.requests]) }));
  const cost: Series[] = routes.map((r) => ({ label: r.route, points: r.points.map((p) => [p.t, p.costUsd]) }));
  const totals: RouteTotal[] = routes.map((r) => ({
    route: r.route,
    requests: r.points.reduce((s, p) => s + p.requests, 0),
    errors: r.points.reduce((s, p) => s + p.errors, 0),
    cost: r.points.reduce((s, p) => s + p.costUsd, 0),
  }));
  return (
    <div>
      <div className="toolbar">
        <label htmlFor="bucket">Per</label>
        <select id="bucket" value={bucket} onChange={(e) => setBucket(e.target.value as "hour" | "day")}>
          <option value="hour">hour</option>
          <option value="day">day</option>
        </select>
        <span className="muted small">last 7 days</span>
      </div>
      {usage.isPending && <Loading what="usage" />}
      <ErrorNote error={usage.error} what="Could not load usage" />
      {usage.isSuccess && routes.length === 0 && <p className="muted">No traffic in the last 7 days.</p>}
      {routes.length > 0 && (
        <>
          <TimeChart title={`Requests per ${bucket}`} series={requests} span={span} />
          <TimeChart title={`Cost per ${bucket} (USD)`} series={cost} span={span} unit="USD" />
          <SortableTable caption="Totals per route" columns={TOTAL_COLUMNS} rows={totals} rowKey={(t) => t.route} />
        </>
      )}
    </div>
  );
}

export function Dashboard() {
  const { key } = useAuth();
  const experiments = useQuery({
    queryKey: ["experiments"],
    queryFn: () => apiJson<{ data: ExperimentSummary[] }>(key, "/v1/admin/experiments"),
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const list = experiments.data?.data ?? [];
  const name = chosen ?? list[0]?.name ?? null;
  const selected = list.find((e) => e.name === name);
  return (
    <section className="dashboard" aria-label="Dashboard">
      <h2>Experiment</h2>
      {experiments.isPending && <Loading what="experiments" />}
      <ErrorNote error={experiments.error} what="Could not load the experiments" />
      {experiments.isSuccess && list.length === 0 && <p className="muted">No experiments yet.</p>}
      {list.length > 0 && (
        <div className="toolbar">
          <label htmlFor="experiment">Experiment</label>
          <select id="experiment" value={name ?? ""} onChange={(e) => setChosen(e.target.value)}>
            {list.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name} ({e.status})
              </option>
            ))}
          </select>
        </div>
      )}
      <NewExperiment onCreated={setChosen} />
      {name && <ExperimentPanel name={name} />}
      {name && <ExperimentTrends name={name} />}
      {name && <ShadowPanel name={name} />}
      {selected && <ExperimentControls experiment={selected} />}
      <h2>Route usage</h2>
      <UsagePanel />
    </section>
  );
}
