/**
 * Admin: prompts and the workbench. The registry (GET /v1/admin/prompts): a
 * prompt's versions with author, time and message, its labels (move one, which
 * is also how to roll back), a diff between two versions, a new version, and
 * its execution history per version. The workbench (/v1/admin/workbench): one
 * input run against prompt versions × variants side by side, saved runs reopened.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { apiFetch, apiJson, postJson } from "../api";
import { useAuth } from "../auth";
import { ErrorNote, Loading, Markdown } from "../ui";

interface PromptSummary {
  name: string;
  description: string | null;
  latest_version: number;
  labels: Record<string, number>;
  variables: string[];
}
interface PromptDetail extends PromptSummary {
  versions: { version: number; author: string; message: string; created_at: number; labels: string[] }[];
}
interface VersionHistory {
  prompt_version: string;
  calls: number;
  success_rate: number | null;
  mean_latency_ms: number | null;
  cost_usd: number;
  thumbs: number;
  thumbs_up_rate: number | null;
}
interface Targets {
  targets: { target: string; backend: string; model: string; prompt: string | null }[];
  prompts: { name: string; variables: string[]; refs: string[] }[];
}
interface WorkbenchResult {
  target: string;
  prompt: string | null;
  prompt_version: string | null;
  model: string;
  status: number;
  output: string | null;
  error: string | null;
  latency_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
}
interface WorkbenchRun {
  id: string;
  title: string | null;
  created_at: number;
  input: { messages: { role: string; content: string }[]; variables: Record<string, string> };
  results: WorkbenchResult[];
}

const enc = encodeURIComponent;
const when = (t: number) => new Date(t).toLocaleString();
const pct = (x: number | null) => (x === null ? "—" : `${(x * 100).toFixed(1)} %`);

function Registry(props: { name: string }) {
  const { key } = useAuth();
  const qc = useQueryClient();
  const path = `/v1/admin/prompts/${enc(props.name)}`;
  const detail = useQuery({
    queryKey: ["admin", "prompt", props.name],
    queryFn: () => apiJson<PromptDetail>(key, path),
  });
  const history = useQuery({
    queryKey: ["admin", "prompt", props.name, "history"],
    queryFn: () => apiJson<{ versions: VersionHistory[] }>(key, `${path}/history`),
  });
  const [label, setLabel] = useState("production");
  const [labelVersion, setLabelVersion] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [system, setSystem] = useState("");
  const [variables, setVariables] = useState("");
  const [message, setMessage] = useState("");
  const refresh = () => qc.invalidateQueries({ queryKey: ["admin", "prompt"] });
  const move = useMutation({
    mutationFn: () =>
      apiJson(key, `${path}/labels/${enc(label)}`, {
        method: "PUT",
        body: JSON.stringify({ version: Number(labelVersion) }),
      }),
    onSuccess: refresh,
  });
  const diff = useQuery({
    queryKey: ["admin", "prompt", props.name, "diff", from, to],
    queryFn: () => apiJson<{ diff: string }>(key, `${path}/diff?from=${enc(from)}&to=${enc(to)}`),
    enabled: from !== "" && to !== "",
  });
  const create = useMutation({
    mutationFn: () =>
      postJson(key, `${path}/versions`, {
        variables: Object.fromEntries(
          variables
            .split(",")
            .map((v) => v.trim())
            .filter(Boolean)
            .map((v) => [v, {}]),
        ),
        template: { system },
        message,
      }),
    onSuccess: () => {
      setMessage("");
      void refresh();
    },
  });
  const d = detail.data;
  useEffect(() => {
    if (!d) return;
    setLabelVersion((v) => v || String(d.latest_version));
    setFrom((v) => v || String(Math.max(1, d.latest_version - 1)));
    setTo((v) => v || String(d.latest_version));
  }, [d]);
  if (detail.isPending) return <Loading what={`prompt ${props.name}`} />;
  if (detail.error) return <ErrorNote error={detail.error} />;
  if (!d) return null;
  const versions = d.versions.map((v) => String(v.version));
  return (
    <section aria-label={`Prompt ${d.name}`}>
      <h3>
        {d.name} <span className="muted small">{d.description}</span>
      </h3>
      <p>
        Labels:{" "}
        {Object.entries(d.labels).map(([l, v]) => (
          <span key={l} className="badge" data-label={l}>
            {l} → {v}
          </span>
        ))}
      </p>
      <div className="table-wrap">
        <table aria-label="Versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>Author</th>
              <th>Time</th>
              <th>Message</th>
              <th>Labels</th>
            </tr>
          </thead>
          <tbody>
            {d.versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>{v.author}</td>
                <td>{when(v.created_at)}</td>
                <td>{v.message}</td>
                <td>{v.labels.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form
        className="row"
        aria-label="Move a label"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          move.mutate();
        }}
      >
        <label>
          Label <input value={label} onChange={(e) => setLabel(e.target.value)} />
        </label>
        <label>
          to version{" "}
          <select value={labelVersion} onChange={(e) => setLabelVersion(e.target.value)}>
            {versions.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={move.isPending}>
          Move label
        </button>
        <ErrorNote error={move.error} />
      </form>
      <div className="row">
        <label>
          Diff from{" "}
          <select aria-label="Diff from" value={from} onChange={(e) => setFrom(e.target.value)}>
            {versions.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          to{" "}
          <select aria-label="Diff to" value={to} onChange={(e) => setTo(e.target.value)}>
            {versions.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
      </div>
      <pre className="diff" data-testid="version-diff">
        {diff.data?.diff === "" ? "The two versions are the same." : diff.data?.diff}
      </pre>
      <form
        aria-label="New version"
        className="new-version"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label>
          System template (variables as {"{{name}}"})
          <textarea rows={4} value={system} onChange={(e) => setSystem(e.target.value)} />
        </label>
        <label>
          Variables (comma-separated) <input value={variables} onChange={(e) => setVariables(e.target.value)} />
        </label>
        <label>
          Message <input value={message} onChange={(e) => setMessage(e.target.value)} />
        </label>
        <button type="submit" disabled={create.isPending || system.trim() === ""}>
          Save as a new version
        </button>
        <ErrorNote error={create.error} />
      </form>
      <h4>Execution history</h4>
      {history.data && history.data.versions.length === 0 && (
        <p className="muted">No logged calls used this prompt yet.</p>
      )}
      {history.data && history.data.versions.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Execution history">
            <thead>
              <tr>
                <th>Version</th>
                <th>Calls</th>
                <th>Success</th>
                <th>Mean latency</th>
                <th>Cost</th>
                <th>Thumbs up</th>
              </tr>
            </thead>
            <tbody>
              {history.data.versions.map((h) => (
                <tr key={h.prompt_version}>
                  <td>{h.prompt_version}</td>
                  <td>{h.calls}</td>
                  <td>{pct(h.success_rate)}</td>
                  <td>{h.mean_latency_ms === null ? "—" : `${Math.round(h.mean_latency_ms)} ms`}</td>
                  <td>${h.cost_usd.toFixed(6)}</td>
                  <td>
                    {pct(h.thumbs_up_rate)} ({h.thumbs})
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Workbench() {
  const { key } = useAuth();
  const qc = useQueryClient();
  const targets = useQuery({
    queryKey: ["admin", "workbench", "targets"],
    queryFn: () => apiJson<Targets>(key, "/v1/admin/workbench/targets"),
  });
  const runs = useQuery({
    queryKey: ["admin", "workbench", "runs"],
    queryFn: () =>
      apiJson<{ data: { id: string; title: string | null; created_at: number; variants: number }[] }>(
        key,
        "/v1/admin/workbench/runs",
      ),
  });
  const [picked, setPicked] = useState<string[]>([]);
  const [refs, setRefs] = useState<string[]>([]);
  const [vars, setVars] = useState("");
  const [input, setInput] = useState("");
  const [shown, setShown] = useState<WorkbenchRun | null>(null);
  const run = useMutation({
    mutationFn: () =>
      postJson<WorkbenchRun>(key, "/v1/admin/workbench/runs", {
        targets: picked,
        ...(refs.length > 0 ? { prompts: refs } : {}),
        messages: input.trim() ? [{ role: "user", content: input }] : [],
        variables: Object.fromEntries(
          vars
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean)
            .map((l) => {
              const eq = l.indexOf("=");
              return eq < 0 ? [l, ""] : [l.slice(0, eq).trim(), l.slice(eq + 1)];
            }),
        ),
      }),
    onSuccess: (r) => {
      setShown(r);
      void qc.invalidateQueries({ queryKey: ["admin", "workbench", "runs"] });
    },
  });
  const open = async (id: string) => setShown(await apiJson<WorkbenchRun>(key, `/v1/admin/workbench/runs/${enc(id)}`));
  const toggle = (list: string[], set: (x: string[]) => void, v: string) =>
    set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  return (
    <section aria-label="Workbench">
      <h2>Workbench</h2>
      <p className="muted small">
        One input, several variants side by side. Trials are saved here, not logged as traffic.
      </p>
      <fieldset>
        <legend>Variants</legend>
        {targets.data?.targets.map((t) => (
          <label key={t.target} className="check">
            <input
              type="checkbox"
              checked={picked.includes(t.target)}
              onChange={() => toggle(picked, setPicked, t.target)}
            />{" "}
            {t.target}{" "}
            <span className="muted small">
              {t.model}
              {t.prompt ? ` · ${t.prompt}` : ""}
            </span>
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Prompt versions (each crossed with each variant; none: the variants' own)</legend>
        {targets.data?.prompts.flatMap((p) =>
          p.refs.map((r) => (
            <label key={r} className="check">
              <input type="checkbox" checked={refs.includes(r)} onChange={() => toggle(refs, setRefs, r)} /> {r}
            </label>
          )),
        )}
      </fieldset>
      <label>
        Variables (one name=value a line)
        <textarea aria-label="Variables" rows={2} value={vars} onChange={(e) => setVars(e.target.value)} />
      </label>
      <label>
        Message
        <textarea aria-label="Message" rows={3} value={input} onChange={(e) => setInput(e.target.value)} />
      </label>
      <button type="button" disabled={run.isPending || picked.length === 0} onClick={() => run.mutate()}>
        {run.isPending ? "Running…" : "Run side by side"}
      </button>
      <ErrorNote error={run.error} />
      {shown && (
        <section className="pair workbench-results" aria-label="Workbench results">
          {shown.results.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: results are a fixed list of one run
            <article key={i} className="answer" aria-label={`${r.target} ${r.prompt_version ?? ""}`.trim()}>
              <h4>
                {r.target} {r.prompt_version && <span className="badge">{r.prompt_version}</span>}
              </h4>
              {r.status === 200 ? <pre className="plain">{r.output}</pre> : <p className="error">{r.error}</p>}
              <p className="muted small">
                {Math.round(r.latency_ms)} ms · {r.input_tokens ?? "?"} in / {r.output_tokens ?? "?"} out tokens · $
                {(r.cost_usd ?? 0).toFixed(6)}
              </p>
            </article>
          ))}
        </section>
      )}
      <h3>Saved runs</h3>
      <ul aria-label="Saved runs">
        {runs.data?.data.map((r) => (
          <li key={r.id}>
            <button type="button" className="ghost" onClick={() => void open(r.id)}>
              Open
            </button>{" "}
            {r.title ?? r.id}{" "}
            <span className="muted small">
              {when(r.created_at)} · {r.variants} variants
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

interface ReplayRun {
  id: string;
  status: string;
  items: number;
  candidates: string[];
  progress: { done: number; total: number };
  created_at: number;
}

/** Replay runs (offline evaluations) with their progress, and a run's comparison report. */
function Replays() {
  const { key } = useAuth();
  const runs = useQuery({
    queryKey: ["admin", "replays"],
    queryFn: () => apiJson<{ data: ReplayRun[] }>(key, "/v1/admin/replays"),
    refetchInterval: (q) => (q.state.data?.data.some((r) => r.status === "running") ? 2000 : false),
  });
  const [open, setOpen] = useState<string | null>(null);
  const report = useQuery({
    queryKey: ["admin", "replays", open, "report"],
    queryFn: async () => (await apiFetch(key, `/v1/admin/replays/${enc(open ?? "")}/report?format=md`)).text(),
    enabled: open !== null,
  });
  return (
    <section aria-label="Replays">
      <h2>Replays</h2>
      <p className="muted small">
        Offline evaluations started with <code>switchyard replay</code> or <code>POST /v1/admin/replays</code>.
      </p>
      <ErrorNote error={runs.error} />
      {runs.data && runs.data.data.length === 0 && <p className="muted">No replay runs yet.</p>}
      <ul aria-label="Replay runs">
        {runs.data?.data.map((r) => (
          <li key={r.id}>
            <button type="button" className="ghost" onClick={() => setOpen(r.id)}>
              Report
            </button>{" "}
            <code>{r.id}</code> {r.status} · {r.progress.done}/{r.progress.total} answers · {r.candidates.join(" vs ")}{" "}
            <span className="muted small">{when(r.created_at)}</span>
          </li>
        ))}
      </ul>
      {open && report.isPending && <Loading what="the report" />}
      <ErrorNote error={report.error} />
      {open && report.data && (
        <article aria-label="Replay report">
          <Markdown text={report.data} />
        </article>
      )}
    </section>
  );
}

export function Prompts() {
  const { key } = useAuth();
  const list = useQuery({
    queryKey: ["admin", "prompt", "list"],
    queryFn: () => apiJson<{ data: PromptSummary[] }>(key, "/v1/admin/prompts"),
  });
  const [selected, setSelected] = useState<string | null>(null);
  const names = list.data?.data.map((p) => p.name) ?? [];
  const current = selected ?? names[0] ?? null;
  return (
    <div className="prompts">
      <h2>Prompts</h2>
      {list.isPending && <Loading what="prompts" />}
      <ErrorNote error={list.error} />
      {list.data && names.length === 0 && (
        <p className="muted">
          No prompts yet. Create one with <code>switchyard prompts create</code> or <code>prompts import</code>.
        </p>
      )}
      <nav aria-label="Prompt list" className="row">
        {list.data?.data.map((p) => (
          <button
            type="button"
            key={p.name}
            className={p.name === current ? "" : "ghost"}
            onClick={() => setSelected(p.name)}
          >
            {p.name} <span className="small">v{p.latest_version}</span>
          </button>
        ))}
      </nav>
      {current && <Registry key={current} name={current} />}
      <Workbench />
      <Replays />
    </div>
  );
}
