/**
 * Admin: fine-tuning datasets from stored traffic (GET /v1/admin/datasets/:kind
 * and its /summary): choose SFT or DPO and the filters, see what the export
 * would hold, then download it as JSONL.
 */
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { apiJson, download } from "../api";
import { useAuth } from "../auth";
import { ErrorNote } from "../ui";
import { useRoutes } from "./routes";

interface Summary {
  rows: number;
  splits: Record<string, number>;
  feedback: Record<string, number>;
  skipped: Record<string, number>;
  duplicates_dropped: number;
}

const SFT_FEEDBACK = ["", "thumbs:up", "thumbs:down", "correction", "stars", "comment", "preference"];
const DPO_SOURCES = ["correction", "preference", "votes"];

const counts = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "none";

export function Datasets() {
  const { key } = useAuth();
  const routes = useRoutes();
  const [kind, setKind] = useState<"sft" | "dpo">("sft");
  const [split, setSplit] = useState("all");
  const [route, setRoute] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [feedback, setFeedback] = useState("");
  const [minStars, setMinStars] = useState("");
  const [sources, setSources] = useState<string[]>(DPO_SOURCES);
  const [redact, setRedact] = useState(false);

  const query = () => {
    const q = new URLSearchParams();
    if (route) q.set("route", route);
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    if (redact) q.set("redact", "true");
    if (kind === "sft") {
      if (feedback) q.set("feedback", feedback);
      if (minStars) q.set("min_stars", minStars);
    } else {
      q.set("sources", sources.join(","));
    }
    return q;
  };

  const preview = useMutation({
    mutationFn: () => apiJson<Summary>(key, `/v1/admin/datasets/${kind}/summary?${query()}`),
  });
  const save = useMutation({
    mutationFn: () => {
      const q = query();
      q.set("split", split);
      return download(key, `/v1/admin/datasets/${kind}?${q}`, `${kind}-${split}.jsonl`);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    preview.mutate();
  };
  const changed = () => {
    preview.reset();
    save.reset();
  };

  return (
    <section aria-label="Datasets">
      <h2>Dataset export</h2>
      <form className="dataset-form" onSubmit={submit} onChange={changed}>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as "sft" | "dpo")}>
            <option value="sft">SFT (conversations up to each answer)</option>
            <option value="dpo">DPO (chosen and rejected pairs)</option>
          </select>
        </label>
        <label>
          Route
          <select value={route} onChange={(e) => setRoute(e.target.value)}>
            <option value="">all routes</option>
            {routes.data?.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To (not included)
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        {kind === "sft" ? (
          <>
            <label>
              Feedback
              <select value={feedback} onChange={(e) => setFeedback(e.target.value)}>
                {SFT_FEEDBACK.map((f) => (
                  <option key={f} value={f}>
                    {f || "any"}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Minimum stars
              <input
                type="number"
                min={1}
                max={5}
                step="any"
                value={minStars}
                onChange={(e) => setMinStars(e.target.value)}
              />
            </label>
          </>
        ) : (
          <fieldset>
            <legend>Sources</legend>
            {DPO_SOURCES.map((s) => (
              <label key={s} className="check">
                <input
                  type="checkbox"
                  checked={sources.includes(s)}
                  onChange={(e) => setSources((all) => (e.target.checked ? [...all, s] : all.filter((x) => x !== s)))}
                />{" "}
                {s}
              </label>
            ))}
          </fieldset>
        )}
        <label className="check">
          <input type="checkbox" checked={redact} onChange={(e) => setRedact(e.target.checked)} /> Redact e-mail
          addresses and phone numbers
        </label>
        <label>
          Split
          <select value={split} onChange={(e) => setSplit(e.target.value)}>
            <option value="all">all</option>
            <option value="train">train</option>
            <option value="validation">validation</option>
            <option value="test">test</option>
          </select>
        </label>
        <div className="row">
          <button type="submit" disabled={preview.isPending || (kind === "dpo" && sources.length === 0)}>
            {preview.isPending ? "Counting…" : "Preview counts"}
          </button>
          <button
            type="button"
            className="ghost"
            onClick={() => save.mutate()}
            disabled={save.isPending || (kind === "dpo" && sources.length === 0)}
          >
            {save.isPending ? "Exporting…" : "Download JSONL"}
          </button>
        </div>
      </form>
      <ErrorNote error={preview.error} what="No preview" />
      <ErrorNote error={save.error} what="Export failed" />
      {preview.data && (
        <dl className="summary" aria-label="What the export holds">
          <dt>Rows</dt>
          <dd>{preview.data.rows}</dd>
          <dt>Splits</dt>
          <dd>{counts(preview.data.splits)}</dd>
          <dt>{kind === "sft" ? "Feedback" : "Sources"}</dt>
          <dd>{counts(preview.data.feedback)}</dd>
          <dt>Skipped</dt>
          <dd>{counts(preview.data.skipped)}</dd>
          <dt>Duplicates dropped</dt>
          <dd>{preview.data.duplicates_dropped}</dd>
        </dl>
      )}
    </section>
  );
}
