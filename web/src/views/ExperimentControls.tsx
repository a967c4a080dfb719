/**
 * Admin controls of one experiment through /v1/admin/experiments/:name: pause
 * and resume, new weights, stop with a winner (promote a candidate, or roll
 * back to the control), and its timeline of changes and rollout decisions,
 * each with the evidence it was taken on.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { apiJson, type ExperimentEvent, type ExperimentSummary, patchJson, postJson } from "../api";
import { useAuth } from "../auth";
import { ErrorNote, Loading } from "../ui";

const base = (name: string) => `/v1/admin/experiments/${encodeURIComponent(name)}`;

export function ExperimentControls(props: { experiment: ExperimentSummary }) {
  const { key } = useAuth();
  const e = props.experiment;
  const client = useQueryClient();
  const [weights, setWeights] = useState<Record<string, string>>({});
  const [winner, setWinner] = useState(e.control);
  const [done, setDone] = useState<string | null>(null);
  const ids = useId();

  useEffect(() => {
    setWeights(Object.fromEntries(e.variants.map((v) => [v.variant, String(v.weight)])));
  }, [e.variants]);

  const act = useMutation({
    mutationFn: async (a: { what: string; run: () => Promise<unknown> }) => {
      await a.run();
      return a.what;
    },
    onSuccess: (what) => {
      setDone(what);
      void client.invalidateQueries({ queryKey: ["experiments"] });
      void client.invalidateQueries({ queryKey: ["report", e.name] });
      void client.invalidateQueries({ queryKey: ["events", e.name] });
    },
    onMutate: () => setDone(null),
  });

  const saveWeights = () => {
    const variants = e.variants.map((v) => ({ variant: v.variant, weight: Number(weights[v.variant]) }));
    const bad = variants.find((v) => !Number.isFinite(v.weight) || v.weight < 0);
    if (bad)
      return act.mutate({
        what: "",
        run: () => Promise.reject(new Error(`the weight of ${bad.variant} must be a number ≥ 0`)),
      });
    act.mutate({ what: "Weights saved", run: () => patchJson(key, base(e.name), { variants }) });
  };

  const stopped = e.status === "stopped";
  return (
    <div className="controls">
      <h3>Controls</h3>
      <p>
        Status: <strong className={`status ${e.status}`}>{e.status}</strong>
        {e.winner ? ` · serving ${e.winner}` : ""}
      </p>
      {!stopped && (
        <div className="row">
          {e.status === "paused" ? (
            <button
              type="button"
              onClick={() => act.mutate({ what: "Resumed", run: () => postJson(key, `${base(e.name)}/resume`, {}) })}
            >
              Resume
            </button>
          ) : (
            <button
              type="button"
              className="ghost"
              onClick={() => act.mutate({ what: "Paused", run: () => postJson(key, `${base(e.name)}/pause`, {}) })}
            >
              Pause (everyone gets {e.control})
            </button>
          )}
        </div>
      )}
      {!stopped && (
        <fieldset className="weights">
          <legend>Weights</legend>
          {e.variants.map((v) => (
            <span key={v.variant} className="weight">
              <label htmlFor={`${ids}-${v.variant}`}>Weight of {v.variant}</label>
              <input
                id={`${ids}-${v.variant}`}
                type="number"
                min={0}
                step="any"
                inputMode="decimal"
                value={weights[v.variant] ?? ""}
                onChange={(ev) => setWeights((w) => ({ ...w, [v.variant]: ev.target.value }))}
              />
              <span className="muted small">now {(v.share * 100).toFixed(0)}%</span>
            </span>
          ))}
          <button type="button" onClick={saveWeights}>
            Save weights
          </button>
        </fieldset>
      )}
      {!stopped && (
        <div className="row stop">
          <label htmlFor={`${ids}-winner`}>Stop and serve</label>
          <select id={`${ids}-winner`} value={winner} onChange={(ev) => setWinner(ev.target.value)}>
            {e.variants.map((v) => (
              <option key={v.variant} value={v.variant}>
                {v.variant}
                {v.variant === e.control ? " (control: roll back)" : " (promote)"}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="stop"
            onClick={() =>
              act.mutate({
                what: `Stopped: ${winner} serves`,
                run: () => postJson(key, `${base(e.name)}/stop`, { winner }),
              })
            }
          >
            Stop experiment
          </button>
        </div>
      )}
      <p aria-live="polite" className="muted small">
        {act.isPending ? "Saving…" : done}
      </p>
      <ErrorNote error={act.error} what="Not changed" />
      <Timeline name={e.name} />
    </div>
  );
}

function Timeline(props: { name: string }) {
  const { key } = useAuth();
  const events = useQuery({
    queryKey: ["events", props.name],
    queryFn: () => apiJson<{ data: ExperimentEvent[] }>(key, `${base(props.name)}/events?limit=100`),
  });
  return (
    <section aria-label="Timeline">
      <h3>Timeline</h3>
      {events.isPending && <Loading what="the timeline" />}
      <ErrorNote error={events.error} what="Could not load the timeline" />
      <ol className="timeline">
        {events.data?.data.map((ev) => (
          <li key={ev.id}>
            <time dateTime={new Date(ev.at).toISOString()}>{new Date(ev.at).toLocaleString()}</time>{" "}
            <strong className="kind">{ev.kind}</strong>
            {ev.actor ? <span className="muted small"> by {ev.actor}</span> : null}
            <details>
              <summary>Evidence and detail</summary>
              <pre>{JSON.stringify(ev.detail, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
