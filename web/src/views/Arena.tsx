/**
 * Two blind answers to one prompt (POST /v1/arena), side by side; the pick is
 * posted as the preference body the arena answer carries, with A as "this".
 */
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type ArenaComparison, postJson } from "../api";
import { useAuth } from "../auth";
import { ErrorNote, Loading, Markdown } from "../ui";
import { useRoutes } from "./routes";

const PICKS = [
  { pick: "this", label: "A is better" },
  { pick: "other", label: "B is better" },
  { pick: "tie", label: "Tie" },
  { pick: "both_bad", label: "Both bad" },
] as const;

export function Arena() {
  const { key } = useAuth();
  const routes = useRoutes();
  const [chosen, setRoute] = useState<string | null>(null);
  const [prompt, setPrompt] = useState("");
  const route = chosen ?? routes.data?.[0] ?? null;

  const vote = useMutation({
    mutationFn: (v: { comparison: ArenaComparison; pick: string }) => {
      const body = v.comparison.vote.body;
      return postJson(key, "/v1/feedback", { ...body, value: { ...body.value, pick: v.pick } });
    },
  });
  const compare = useMutation({
    mutationFn: (p: { route: string; prompt: string }) =>
      postJson<ArenaComparison>(key, "/v1/arena", { model: p.route, messages: [{ role: "user", content: p.prompt }] }),
    onSuccess: () => vote.reset(),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (route && prompt.trim()) compare.mutate({ route, prompt: prompt.trim() });
  };
  const voted = PICKS.find((p) => p.pick === vote.variables?.pick && vote.isSuccess);

  return (
    <section className="arena" aria-label="Arena">
      <form onSubmit={submit} className="arena-form">
        <div className="toolbar">
          <label htmlFor="arena-route">Route</label>
          {routes.isPending ? (
            <Loading what="routes" />
          ) : (
            <select id="arena-route" value={route ?? ""} onChange={(e) => setRoute(e.target.value)}>
              {routes.data?.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </div>
        <label htmlFor="arena-prompt">Prompt</label>
        <textarea id="arena-prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        <button type="submit" disabled={compare.isPending || !prompt.trim() || !route}>
          {compare.isPending ? "Asking both…" : "Compare two answers"}
        </button>
      </form>
      <ErrorNote error={routes.error} what="Could not load the routes" />
      <ErrorNote error={compare.error} what="No comparison" />
      {compare.isPending && <Loading what="two answers" />}
      {compare.data && (
        <>
          <div className="pair">
            {compare.data.answers.map((a) => (
              <article key={a.label} className="answer" aria-label={`Answer ${a.label}`}>
                <h2>Answer {a.label}</h2>
                <Markdown text={a.message.content ?? ""} />
              </article>
            ))}
          </div>
          <fieldset className="row votes" aria-label="Which answer is better?" disabled={vote.isPending || !!voted}>
            {PICKS.map((p) => (
              <button
                key={p.pick}
                type="button"
                aria-pressed={voted?.pick === p.pick}
                onClick={() => compare.data && vote.mutate({ comparison: compare.data, pick: p.pick })}
              >
                {p.label}
              </button>
            ))}
          </fieldset>
          <p aria-live="polite">{voted ? `Vote recorded: ${voted.label}.` : vote.isPending ? "Saving…" : ""}</p>
          <ErrorNote error={vote.error} what="Vote not saved" />
        </>
      )}
    </section>
  );
}
