import { type FormEvent, type ReactNode, useState } from "react";
import { ApiError, type Me } from "../api";
import { checkKey, remember } from "../auth";
import { ErrorNote } from "../ui";

export function SignIn(props: { notice?: ReactNode; onSignedIn(key: string, me: Me): void }) {
  const [key, setKey] = useState("");
  const [keep, setKeep] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return setError(new Error("enter your Switchyard key"));
    setBusy(true);
    setError(null);
    try {
      const me = await checkKey(k);
      remember(k, keep);
      props.onSignedIn(k, me);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? new Error(`Switchyard did not accept this key (${err.message})`)
          : err,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <h1>Switchyard</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label htmlFor="key">Switchyard key</label>
        <input
          id="key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="sy-…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={error ? true : undefined}
        />
        <label className="check">
          <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} /> Keep me signed in on this
          device
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        {props.notice}
        <ErrorNote error={error} />
      </form>
      <p className="muted">
        An admin creates keys with <code>npx switchyard keys create --tenant NAME --role app</code>.
      </p>
    </main>
  );
}
