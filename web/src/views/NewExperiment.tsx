/**
 * Admin: create an experiment on a route (POST /v1/admin/experiments). The
 * route's variants are not listed by the API, so they are typed; the server
 * checks them and its error names the one it does not know.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { postJson } from "../api";
import { useAuth } from "../auth";
import { ErrorNote } from "../ui";
import { useRoutes } from "./routes";

interface Row {
  id: number;
  variant: string;
  weight: string;
}

let rowIds = 0;
const newRow = (weight: string): Row => ({ id: ++rowIds, variant: "", weight });

export function NewExperiment(props: { onCreated(name: string): void }) {
  const { key } = useAuth();
  const routes = useRoutes();
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [route, setRoute] = useState("");
  const [rows, setRows] = useState<Row[]>(() => [newRow("50"), newRow("50")]);
  const chosenRoute = route || routes.data?.[0] || "";

  const create = useMutation({
    mutationFn: () =>
      postJson<{ name: string }>(key, "/v1/admin/experiments", {
        name: name.trim(),
        route: chosenRoute,
        variants: rows
          .filter((r) => r.variant.trim() !== "")
          .map((r) => ({ variant: r.variant.trim(), weight: Number(r.weight) })),
      }),
    onSuccess: async (e) => {
      await client.invalidateQueries({ queryKey: ["experiments"] });
      props.onCreated(e.name);
      setName("");
    },
  });

  const set = (i: number, patch: Partial<Row>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };

  return (
    <details className="new-experiment">
      <summary>New experiment</summary>
      <form onSubmit={submit} aria-label="New experiment">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z0-9][A-Za-z0-9._-]*" />
        </label>
        <label>
          Route
          <select value={chosenRoute} onChange={(e) => setRoute(e.target.value)}>
            {routes.data?.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        {rows.map((r, i) => (
          <span className="row" key={r.id}>
            <label>
              Variant {i + 1}
              <input value={r.variant} onChange={(e) => set(i, { variant: e.target.value })} />
            </label>
            <label>
              Weight {i + 1}
              <input
                type="number"
                min={0}
                step="any"
                value={r.weight}
                onChange={(e) => set(i, { weight: e.target.value })}
              />
            </label>
          </span>
        ))}
        <div className="row">
          <button type="button" className="ghost" onClick={() => setRows((rs) => [...rs, newRow("0")])}>
            Add variant
          </button>
          <button type="submit" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create experiment"}
          </button>
        </div>
        <ErrorNote error={create.error} what="Not created" />
      </form>
    </details>
  );
}
