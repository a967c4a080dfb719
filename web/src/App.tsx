import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import type { Me } from "./api";
import { AuthProvider, checkKey, forget, storedKey, useAuth } from "./auth";
import { useChatState } from "./chat-state";
import { navigate, parse, usePath } from "./router";
import { ErrorNote, Link, Loading } from "./ui";
import { Arena } from "./views/Arena";
import { Chat } from "./views/Chat";
import { History } from "./views/History";
import { SignIn } from "./views/SignIn";

type Session = { key: string; me: Me } | null;

// Admin views (and the chart library) load only when an admin opens one: app users never fetch them.
const Dashboard = lazy(() => import("./views/Dashboard").then((m) => ({ default: m.Dashboard })));
const Datasets = lazy(() => import("./views/Datasets").then((m) => ({ default: m.Datasets })));
const Backends = lazy(() => import("./views/Backends").then((m) => ({ default: m.Backends })));
const Keys = lazy(() => import("./views/Keys").then((m) => ({ default: m.Keys })));
const Prompts = lazy(() => import("./views/Prompts").then((m) => ({ default: m.Prompts })));

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [restoreError, setRestoreError] = useState<unknown>(null);
  const queryClient = useQueryClient();

  // A key kept from an earlier visit is checked again: it may have been revoked since.
  // Without one, a server that needs no keys (auth.required: false) lets us straight in.
  useEffect(() => {
    const key = storedKey();
    if (!key) {
      checkKey("")
        .then((me) => setSession(me.auth_required ? null : { key: "", me }))
        .catch(() => setSession(null));
      return;
    }
    checkKey(key)
      .then((me) => setSession({ key, me }))
      .catch((e) => {
        forget();
        setRestoreError(e);
        setSession(null);
      });
  }, []);

  const onSignOut = useCallback(() => {
    queryClient.clear();
    setSession(null);
    navigate("/");
  }, [queryClient]);

  if (session === undefined) return <Loading what="Switchyard" />;
  if (session === null) {
    return (
      <SignIn
        notice={restoreError ? <ErrorNote error={restoreError} what="Signed out" /> : null}
        onSignedIn={(key, me) => {
          setRestoreError(null);
          setSession({ key, me });
        }}
      />
    );
  }
  return (
    <AuthProvider value={session} onSignOut={onSignOut}>
      <Shell />
    </AuthProvider>
  );
}

function Shell() {
  const { me, signOut } = useAuth();
  const route = parse(usePath());
  const chat = useChatState();
  const [reveal, setReveal] = useState(false);
  const admin = me.role === "admin";

  return (
    <div className="shell">
      <header className="top">
        <span className="brand">Switchyard</span>
        <nav aria-label="Views">
          <Link to="/chat" current={route.view === "chat"}>
            Chat
          </Link>
          <Link to="/history" current={route.view === "history"}>
            History
          </Link>
          <Link to="/arena" current={route.view === "arena"}>
            Arena
          </Link>
          {admin && (
            <Link to="/admin/dashboard" current={route.view === "dashboard"}>
              Dashboard
            </Link>
          )}
          {admin && (
            <Link to="/admin/datasets" current={route.view === "datasets"}>
              Datasets
            </Link>
          )}
          {admin && (
            <Link to="/admin/backends" current={route.view === "backends"}>
              Backends
            </Link>
          )}
          {admin && (
            <Link to="/admin/prompts" current={route.view === "prompts"}>
              Prompts
            </Link>
          )}
          {admin && (
            <Link to="/admin/keys" current={route.view === "keys"}>
              Keys
            </Link>
          )}
        </nav>
        <div className="who">
          {admin && (
            <label className="reveal" title="Show which variant and backend answered (hidden from users)">
              <input type="checkbox" checked={reveal} onChange={(e) => setReveal(e.target.checked)} /> Reveal variants
            </label>
          )}
          <span className="badge" title={`tenant ${me.tenant}`}>
            {me.tenant} · {me.role}
          </span>
          <button type="button" className="ghost" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Suspense fallback={<Loading what="the view" />}>
          {route.view === "chat" && <Chat chat={chat} reveal={admin && reveal} />}
          {route.view === "history" && (
            <History
              id={route.id}
              onContinue={(c) => {
                chat.load(c);
                navigate("/chat");
              }}
            />
          )}
          {route.view === "arena" && <Arena />}
          {route.view === "dashboard" &&
            (admin ? <Dashboard /> : <p role="alert">The dashboard is shown to admin keys only.</p>)}
          {route.view === "datasets" &&
            (admin ? <Datasets /> : <p role="alert">Dataset export is for admin keys only.</p>)}
          {route.view === "backends" &&
            (admin ? <Backends /> : <p role="alert">Backends are shown to admin keys only.</p>)}
          {route.view === "keys" && (admin ? <Keys /> : <p role="alert">Keys are managed with admin keys only.</p>)}
          {route.view === "prompts" &&
            (admin ? <Prompts /> : <p role="alert">Prompts are managed with admin keys only.</p>)}
          {route.view === "not-found" && (
            <p role="alert">
              Nothing at {route.path}. <Link to="/chat">Go to the chat</Link>.
            </p>
          )}
        </Suspense>
      </main>
    </div>
  );
}
