/**
 * The UI's few routes on the History API. The server answers index.html for
 * the same paths (UI_ROUTES in src/server/web-ui.ts): keep the two in step.
 */
import { useSyncExternalStore } from "react";

export type Route =
  | { view: "chat" }
  | { view: "history"; id?: string }
  | { view: "arena" }
  | { view: "backends" }
  | { view: "dashboard" }
  | { view: "datasets" }
  | { view: "keys" }
  | { view: "prompts" }
  | { view: "not-found"; path: string };

export function parse(path: string): Route {
  if (path === "/" || path === "/chat") return { view: "chat" };
  if (path === "/history") return { view: "history" };
  const m = /^\/history\/([^/]+)$/.exec(path);
  if (m?.[1]) return { view: "history", id: decodeURIComponent(m[1]) };
  if (path === "/arena") return { view: "arena" };
  if (path === "/admin/backends") return { view: "backends" };
  if (path === "/admin/dashboard") return { view: "dashboard" };
  if (path === "/admin/datasets") return { view: "datasets" };
  if (path === "/admin/keys") return { view: "keys" };
  if (path === "/admin/prompts") return { view: "prompts" };
  return { view: "not-found", path };
}

const listeners = new Set<() => void>();
const subscribe = (fn: () => void) => {
  listeners.add(fn);
  window.addEventListener("popstate", fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener("popstate", fn);
  };
};

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, "", path);
  for (const fn of listeners) fn();
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}
