import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { apiJson, type Conversation, type ConversationSummary, download, textOf } from "../api";
import { useAuth } from "../auth";
import { ErrorNote, Link, Loading, Markdown } from "../ui";

export function History(props: { id?: string | undefined; onContinue(c: Conversation): void }) {
  return props.id ? <ConversationView id={props.id} onContinue={props.onContinue} /> : <ConversationList />;
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

function ExportButtons(props: { ids: string[]; name: string }) {
  const { key } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const save = (format: "json" | "markdown") => {
    setError(null);
    const ids = props.ids.map(encodeURIComponent).join(",");
    const file = `${props.name}.${format === "json" ? "json" : "md"}`;
    download(key, `/v1/conversations/export?id=${ids}&format=${format}`, file).catch(setError);
  };
  return (
    <span className="row">
      <button type="button" className="ghost" onClick={() => save("json")} disabled={props.ids.length === 0}>
        Export JSON
      </button>
      <button type="button" className="ghost" onClick={() => save("markdown")} disabled={props.ids.length === 0}>
        Export Markdown
      </button>
      <ErrorNote error={error} what="Export failed" />
    </span>
  );
}

/** The search's snippet marks each hit as [word]: shown highlighted, never as HTML. */
function Snippet(props: { text: string }) {
  const parts = props.text.split(/\[([^\]]*)\]/);
  return (
    <span className="snippet small">
      {parts.map((p, i) =>
        // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string, never reordered
        i % 2 === 1 ? <mark key={i}>{p}</mark> : <span key={i}>{p}</span>,
      )}
    </span>
  );
}

function ConversationList() {
  const { key } = useAuth();
  const [q, setQ] = useState("");
  const search = useDebounced(q.trim(), 250);
  const list = useQuery({
    queryKey: ["conversations", search],
    queryFn: () =>
      apiJson<{ data: ConversationSummary[] }>(
        key,
        `/v1/conversations?limit=100${search ? `&q=${encodeURIComponent(search)}` : ""}`,
      ),
  });
  const rows = list.data?.data ?? [];

  return (
    <section aria-label="History">
      <div className="toolbar">
        <label htmlFor="search">Search conversations</label>
        <input
          id="search"
          type="search"
          placeholder="words, or word* for a prefix"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <ExportButtons ids={rows.map((r) => r.id)} name="conversations" />
      </div>
      {list.isPending && <Loading what="conversations" />}
      <ErrorNote error={list.error} what="Could not load the conversations" />
      {list.isSuccess && rows.length === 0 && (
        <p className="muted">{search ? `No conversation mentions “${search}”.` : "No conversations yet."}</p>
      )}
      <ul className="conversations">
        {rows.map((c) => (
          <li key={c.id}>
            <Link to={`/history/${encodeURIComponent(c.id)}`}>{c.title || "(untitled)"}</Link>
            <span className="muted small">
              {c.route ?? ""} · {c.message_count} messages · {new Date(c.updated_at).toLocaleString()}
            </span>
            {c.snippet && <Snippet text={c.snippet} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function ConversationView(props: { id: string; onContinue(c: Conversation): void }) {
  const { key } = useAuth();
  const c = useQuery({
    queryKey: ["conversation", props.id],
    queryFn: () => apiJson<Conversation>(key, `/v1/conversations/${encodeURIComponent(props.id)}`),
  });
  return (
    <section aria-label="Conversation">
      <div className="toolbar">
        <Link to="/history">← All conversations</Link>
        {c.data && (
          <>
            <button type="button" onClick={() => c.data && props.onContinue(c.data)}>
              Continue in chat
            </button>
            <ExportButtons ids={[props.id]} name={props.id} />
          </>
        )}
      </div>
      {c.isPending && <Loading what="the conversation" />}
      <ErrorNote error={c.error} what="Could not open the conversation" />
      {c.data && (
        <>
          <h2>{c.data.title || "(untitled)"}</h2>
          <ol className="turns">
            {c.data.messages.map((m) => (
              <li key={m.id} className={`turn ${m.message.role}`}>
                <span className="who-said">{m.message.role === "user" ? "You" : m.message.role}</span>
                {m.message.role === "assistant" ? (
                  <Markdown text={textOf(m.message.content)} />
                ) : (
                  <p className="plain">{textOf(m.message.content)}</p>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
