/**
 * The open conversation, kept above the views so that going to History and
 * back keeps it. Its session id is the gateway's: sent back each turn so the
 * stored conversation continues (and a regenerated answer becomes a branch).
 */
import { useCallback, useState } from "react";
import { type Conversation, textOf } from "./api";

export interface Turn {
  id: string;
  role: "user" | "assistant";
  content: string;
  requestId?: string | null;
  variant?: string | null;
  backend?: string | null;
  status?: "streaming" | "done" | "stopped" | "error";
  error?: string;
}

export interface ChatState {
  turns: Turn[];
  session: string | null;
  route: string | null;
  setTurns(update: (t: Turn[]) => Turn[]): void;
  setSession(s: string | null): void;
  setRoute(r: string): void;
  reset(): void;
  load(c: Conversation): void;
}

let counter = 0;
export const turnId = () => `t${++counter}`;

export function useChatState(): ChatState {
  const [turns, setTurnsState] = useState<Turn[]>([]);
  const [session, setSession] = useState<string | null>(null);
  const [route, setRouteState] = useState<string | null>(null);
  const setTurns = useCallback((u: (t: Turn[]) => Turn[]) => setTurnsState(u), []);
  const setRoute = useCallback((r: string) => setRouteState(r), []);
  const reset = useCallback(() => {
    setTurnsState([]);
    setSession(null);
  }, []);
  const load = useCallback((c: Conversation) => {
    setTurnsState(
      c.messages
        .filter((m) => m.message.role === "user" || m.message.role === "assistant")
        .map((m) => ({
          id: turnId(),
          role: m.message.role as "user" | "assistant",
          content: textOf(m.message.content),
          requestId: m.message.role === "assistant" ? m.request_id : null,
          status: "done" as const,
        })),
    );
    setSession(c.id);
    if (c.route) setRouteState(c.route);
  }, []);
  return { turns, session, route, setTurns, setSession, setRoute, reset, load };
}
