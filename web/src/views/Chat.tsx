import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import type { ChatMessage } from "../api";
import { useAuth } from "../auth";
import { type ChatState, type Turn, turnId } from "../chat-state";
import { streamChat } from "../stream";
import { ErrorNote, Loading, Markdown } from "../ui";
import { Feedback } from "./Feedback";
import { useRoutes } from "./routes";

function history(turns: Turn[]): ChatMessage[] {
  return turns
    .filter((t) => t.role === "user" || (t.status !== "error" && t.content !== ""))
    .map((t) => ({ role: t.role, content: t.content }));
}

export function Chat(props: { chat: ChatState; reveal: boolean }) {
  const { key } = useAuth();
  const { chat, reveal } = props;
  const routes = useRoutes();
  const [draft, setDraft] = useState("");
  const abort = useRef<AbortController | null>(null);
  const end = useRef<HTMLDivElement>(null);
  const streaming = chat.turns.some((t) => t.status === "streaming");
  const route = chat.route ?? routes.data?.[0] ?? null;
  const { setRoute } = chat;

  useEffect(() => {
    if (!chat.route && routes.data?.[0]) setRoute(routes.data[0]);
  }, [chat.route, routes.data, setRoute]);

  // Leaving the view stops an answer in progress rather than streaming into nothing.
  useEffect(() => () => abort.current?.abort(), []);

  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  });

  const update = (id: string, patch: Partial<Turn>) =>
    chat.setTurns((ts) => ts.map((t) => (t.id === id ? { ...t, ...patch } : t)));

  const answer = async (upTo: Turn[]) => {
    if (!route) return;
    const id = turnId();
    const controller = new AbortController();
    abort.current = controller;
    chat.setTurns(() => [...upTo, { id, role: "assistant", content: "", status: "streaming" }]);
    try {
      const text = await streamChat({
        key,
        route,
        messages: history(upTo),
        session: chat.session,
        signal: controller.signal,
        onStart: (m) => {
          if (m.session) chat.setSession(m.session);
          update(id, { requestId: m.requestId, variant: m.variant, backend: m.backend });
        },
        onText: (content) => update(id, { content }),
      });
      update(id, { content: text, status: "done" });
    } catch (e) {
      if ((e as Error).name === "AbortError") update(id, { status: "stopped" });
      else update(id, { status: "error", error: (e as Error).message });
    } finally {
      if (abort.current === controller) abort.current = null;
    }
  };

  const send = (e?: FormEvent) => {
    e?.preventDefault();
    const text = draft.trim();
    if (!text || streaming || !route) return;
    setDraft("");
    void answer([...chat.turns, { id: turnId(), role: "user", content: text }]);
  };

  const regenerate = () => {
    const lastUser = chat.turns.findLastIndex((t) => t.role === "user");
    if (lastUser >= 0) void answer(chat.turns.slice(0, lastUser + 1));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const last = chat.turns.at(-1);

  return (
    <section className="chat" aria-label="Chat">
      <div className="toolbar">
        <label htmlFor="route">Route</label>
        {routes.isPending ? (
          <Loading what="routes" />
        ) : (
          <select
            id="route"
            value={route ?? ""}
            onChange={(e) => chat.setRoute(e.target.value)}
            disabled={streaming || routes.data?.length === 0}
          >
            {routes.data?.length === 0 && <option value="">no routes for this key</option>}
            {routes.data?.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        )}
        <button type="button" className="ghost" onClick={chat.reset} disabled={streaming || chat.turns.length === 0}>
          New chat
        </button>
      </div>
      <ErrorNote error={routes.error} what="Could not load the routes" />

      <ol className="turns" aria-label="Messages">
        {chat.turns.length === 0 && <li className="muted empty">Ask something to start a conversation.</li>}
        {chat.turns.map((t) => (
          <li
            key={t.id}
            className={`turn ${t.role}`}
            data-status={t.status}
            aria-busy={t.status === "streaming" ? true : undefined}
          >
            <span className="who-said">{t.role === "user" ? "You" : "Assistant"}</span>
            {t.role === "user" ? <p className="plain">{t.content}</p> : <Markdown text={t.content} />}
            {t.status === "streaming" && t.content === "" && <p className="muted">Thinking…</p>}
            {t.status === "stopped" && <p className="muted small">Stopped.</p>}
            {t.status === "error" && (
              <p className="error" role="alert">
                No answer: {t.error}
              </p>
            )}
            {reveal && t.role === "assistant" && t.variant && (
              <p className="variant small">
                variant <strong>{t.variant}</strong>
                {t.backend ? ` · backend ${t.backend}` : ""}
              </p>
            )}
            {t.role === "assistant" && t.requestId && t.status !== "streaming" && t.status !== "error" && (
              <Feedback requestId={t.requestId} answer={t.content} />
            )}
          </li>
        ))}
      </ol>
      <div ref={end} />

      <form className="composer" onSubmit={send}>
        <label htmlFor="draft" className="visually-hidden">
          Message
        </label>
        <textarea
          id="draft"
          rows={2}
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="actions">
          {streaming ? (
            <button type="button" className="stop" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={!draft.trim() || !route}>
              Send
            </button>
          )}
          {!streaming && last?.role === "assistant" && (
            <button type="button" className="ghost" onClick={regenerate}>
              Regenerate
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
