/**
 * Admin: each backend's breaker state and calls in flight (GET /v1/admin/backends),
 * refreshed every 5 s; for an embedded llama-cpp engine also its model, adapters,
 * memory, sequences and tokens/s.
 */
import { useQuery } from "@tanstack/react-query";
import { apiJson } from "../api";
import { useAuth } from "../auth";
import { type Column, SortableTable } from "../table";
import { ErrorNote, Loading } from "../ui";

interface BackendRow {
  name: string;
  kind: string;
  breaker: string;
  in_flight: number;
  max_concurrency?: number;
  local?: {
    model: string;
    error: string | null;
    adapters_loaded: string[];
    memory_bytes: number;
    sequences_active: number;
    sequences_queued: number;
    parallel: number;
    max_queue: number;
    threads: number;
    tokens_per_second: number;
  };
}

const MIB = 1024 * 1024;

function LocalEngine({ local }: { local: NonNullable<BackendRow["local"]> }) {
  return (
    <div className="small">
      <div>
        model {local.model}
        {local.error ? `: ${local.error}` : ""}
      </div>
      <div>
        sequences {local.sequences_active}/{local.parallel} active, {local.sequences_queued}/{local.max_queue} queued
      </div>
      <div>
        {local.tokens_per_second} tokens/s · {Math.round(local.memory_bytes / MIB)} MiB · {local.threads} thread
        {local.threads === 1 ? "" : "s"}
      </div>
      <div>adapters: {local.adapters_loaded.length > 0 ? local.adapters_loaded.join(", ") : "none loaded"}</div>
    </div>
  );
}

const COLUMNS: Column<BackendRow>[] = [
  { label: "Backend", value: (r) => r.name },
  { label: "Kind", value: (r) => r.kind },
  {
    label: "Breaker",
    value: (r) => r.breaker,
    render: (r) => <span className={`breaker ${r.breaker}`}>{r.breaker}</span>,
  },
  { label: "In flight", value: (r) => r.in_flight },
  { label: "Max concurrency", value: (r) => r.max_concurrency ?? null },
  {
    label: "Local model",
    value: (r) => r.local?.sequences_active ?? null,
    render: (r) => (r.local ? <LocalEngine local={r.local} /> : <span className="muted">—</span>),
  },
];

export function Backends() {
  const { key } = useAuth();
  const q = useQuery({
    queryKey: ["admin", "backends"],
    queryFn: () => apiJson<{ data: BackendRow[] }>(key, "/v1/admin/backends"),
    refetchInterval: 5000,
  });
  return (
    <section aria-label="Backends">
      <h2>Backends</h2>
      {q.isPending && <Loading what="backends" />}
      <ErrorNote error={q.error} what="Could not load the backends" />
      {q.data && (
        <SortableTable caption="Health and breaker state" columns={COLUMNS} rows={q.data.data} rowKey={(r) => r.name} />
      )}
    </section>
  );
}
