/** Admin: each backend's breaker state and calls in flight (GET /v1/admin/backends), refreshed every 5 s. */
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
