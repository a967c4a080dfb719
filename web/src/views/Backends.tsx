/** Admin: each backend's breaker state and calls in flight (GET /v1/admin/backends), refreshed every 5 s. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { apiJson } from "../api";
import { useAuth } from "../auth";
import { ErrorNote, Loading } from "../ui";

interface BackendRow {
  name: string;
  kind: string;
  breaker: string;
  in_flight: number;
  max_concurrency?: number;
}

type Column = keyof BackendRow;
const COLUMNS: { key: Column; label: string }[] = [
  { key: "name", label: "Backend" },
  { key: "kind", label: "Kind" },
  { key: "breaker", label: "Breaker" },
  { key: "in_flight", label: "In flight" },
  { key: "max_concurrency", label: "Max concurrency" },
];

export function Backends() {
  const { key } = useAuth();
  const [sort, setSort] = useState<{ by: Column; asc: boolean }>({ by: "name", asc: true });
  const q = useQuery({
    queryKey: ["admin", "backends"],
    queryFn: () => apiJson<{ data: BackendRow[] }>(key, "/v1/admin/backends"),
    refetchInterval: 5000,
  });
  const rows = [...(q.data?.data ?? [])].sort((a, b) => {
    const x = a[sort.by] ?? "";
    const y = b[sort.by] ?? "";
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return sort.asc ? c : -c;
  });
  return (
    <section aria-label="Backends">
      <h2>Backends</h2>
      {q.isPending && <Loading what="backends" />}
      <ErrorNote error={q.error} what="Could not load the backends" />
      {q.data && (
        <table>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  aria-sort={sort.by === c.key ? (sort.asc ? "ascending" : "descending") : "none"}
                  scope="col"
                >
                  <button
                    type="button"
                    className="ghost sort"
                    onClick={() => setSort((s) => ({ by: c.key, asc: s.by === c.key ? !s.asc : true }))}
                  >
                    {c.label}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name}>
                <td>{r.name}</td>
                <td>{r.kind}</td>
                <td>
                  <span className={`breaker ${r.breaker}`}>{r.breaker}</span>
                </td>
                <td>{r.in_flight}</td>
                <td>{r.max_concurrency ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
