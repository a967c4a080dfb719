/**
 * An experiment over time (GET /v1/experiments/:name/timeseries): each
 * variant's share of the traffic and its latency p50 / p95 per hour or day,
 * charted, with the numbers in a sortable table below.
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { apiJson, type ExperimentTimeseries } from "../api";
import { useAuth } from "../auth";
import { type Series, TimeChart } from "../chart";
import { type Column, SortableTable } from "../table";
import { ErrorNote, Loading } from "../ui";

interface Row {
  t: number;
  variant: string;
  requests: number;
  share: number;
  failures: number;
  p50: number | null;
  p95: number | null;
}

const ms = (x: number | null) => (x === null ? "—" : `${Math.round(x)} ms`);

const COLUMNS: Column<Row>[] = [
  { label: "Time", value: (r) => r.t, render: (r) => new Date(r.t).toLocaleString() },
  { label: "Variant", value: (r) => r.variant },
  { label: "Requests", value: (r) => r.requests },
  { label: "Share", value: (r) => r.share, render: (r) => `${(r.share * 100).toFixed(1)}%` },
  { label: "Failures", value: (r) => r.failures },
  { label: "p50", value: (r) => r.p50, render: (r) => ms(r.p50) },
  { label: "p95", value: (r) => r.p95, render: (r) => ms(r.p95) },
];

export function ExperimentTrends(props: { name: string }) {
  const { key } = useAuth();
  const [bucket, setBucket] = useState<"hour" | "day">("hour");
  const q = useQuery({
    queryKey: ["timeseries", props.name, bucket],
    queryFn: () =>
      apiJson<ExperimentTimeseries>(
        key,
        `/v1/experiments/${encodeURIComponent(props.name)}/timeseries?bucket=${bucket}`,
      ),
  });
  const variants = q.data?.variants ?? [];
  // From the start of the first bucket: the experiment's first hour begins before it did.
  const size = bucket === "hour" ? 3_600_000 : 86_400_000;
  const span: [number, number] = q.data ? [Math.floor(q.data.from / size) * size, q.data.to] : [0, 1];
  const share: Series[] = variants.map((v) => ({
    label: v.variant,
    points: v.points.map((p) => [p.t, Math.round(p.share * 1000) / 10]),
  }));
  const latency: Series[] = variants.flatMap((v) =>
    (["p50", "p95"] as const).map((which) => ({
      label: `${v.variant} ${which}`,
      points: v.points.flatMap((p): [number, number][] => {
        const y = p.latencyMs[which];
        return y === null ? [] : [[p.t, Math.round(y)]];
      }),
    })),
  );
  const rows: Row[] = variants.flatMap((v) =>
    v.points.map((p) => ({
      t: p.t,
      variant: v.variant,
      requests: p.requests,
      share: p.share,
      failures: p.failures,
      p50: p.latencyMs.p50,
      p95: p.latencyMs.p95,
    })),
  );
  const id = `trend-bucket-${props.name}`;
  return (
    <section className="trends" aria-label="Over time">
      <h3>Over time</h3>
      <div className="toolbar">
        <label htmlFor={id}>Per</label>
        <select id={id} value={bucket} onChange={(e) => setBucket(e.target.value as "hour" | "day")}>
          <option value="hour">hour</option>
          <option value="day">day</option>
        </select>
        <span className="muted small">since the experiment began</span>
      </div>
      {q.isPending && <Loading what="the experiment over time" />}
      <ErrorNote error={q.error} what="Could not load the experiment over time" />
      {q.isSuccess && variants.length === 0 && <p className="muted">No analysed traffic yet.</p>}
      {variants.length > 0 && (
        <>
          <TimeChart title={`Traffic share per ${bucket} (%)`} series={share} span={span} unit="%" />
          <TimeChart title={`Latency p50 / p95 per ${bucket} (ms)`} series={latency} span={span} unit="ms" />
          <SortableTable
            caption={`Per variant and ${bucket}`}
            columns={COLUMNS}
            rows={rows}
            rowKey={(r) => `${r.t}-${r.variant}`}
          />
        </>
      )}
    </section>
  );
}
