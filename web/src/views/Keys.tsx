/**
 * Admin: the tenant's API keys (GET /v1/admin/keys). Create one (POST): the
 * key is shown once, with a copy button and a warning; revoke one (POST
 * /:id/revoke) after a confirmation. Keys are stored hashed: a lost key can
 * only be replaced.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useRef, useState } from "react";
import { type ApiKey, apiJson, postJson, type Role } from "../api";
import { useAuth } from "../auth";
import { type Column, SortableTable } from "../table";
import { ErrorNote, Loading } from "../ui";

const when = (t: number | null) => (t === null ? "—" : new Date(t).toLocaleString());

function NewKey(props: { created: ApiKey & { key: string }; onDone(): void }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    field.current?.select();
    try {
      await navigator.clipboard.writeText(props.created.key);
      setCopied("Copied.");
    } catch {
      setCopied("The browser would not copy it: the key is selected, press Ctrl+C (⌘C).");
    }
  };
  return (
    <section className="new-key" aria-label="New key">
      <p className="warning" role="alert">
        This is the only time the key <strong>{props.created.name ?? props.created.id}</strong> is shown. Copy it now:
        Switchyard keeps only its hash.
      </p>
      <div className="row">
        <label htmlFor="new-key-value">Key</label>
        <input id="new-key-value" ref={field} readOnly value={props.created.key} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={copy}>
          Copy
        </button>
        <button type="button" className="ghost" onClick={props.onDone}>
          Done
        </button>
      </div>
      <p aria-live="polite" className="muted small">
        {copied}
      </p>
    </section>
  );
}

export function Keys() {
  const { key, me } = useAuth();
  const qc = useQueryClient();
  const keys = useQuery({
    queryKey: ["admin", "keys"],
    queryFn: () => apiJson<{ data: ApiKey[] }>(key, "/v1/admin/keys"),
  });
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("app");
  const [created, setCreated] = useState<(ApiKey & { key: string }) | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  const create = useMutation({
    mutationFn: () =>
      postJson<ApiKey & { key: string }>(key, "/v1/admin/keys", { role, ...(name.trim() ? { name } : {}) }),
    onSuccess: (k) => {
      setCreated(k);
      setName("");
      void qc.invalidateQueries({ queryKey: ["admin", "keys"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => postJson<ApiKey>(key, `/v1/admin/keys/${encodeURIComponent(id)}/revoke`, {}),
    onSuccess: () => {
      setConfirming(null);
      void qc.invalidateQueries({ queryKey: ["admin", "keys"] });
    },
  });

  const columns: Column<ApiKey>[] = [
    { label: "Name", value: (k) => k.name ?? "", render: (k) => k.name ?? <span className="muted">(none)</span> },
    { label: "Role", value: (k) => k.role },
    { label: "Prefix", value: (k) => k.prefix, render: (k) => <code>{k.prefix}…</code> },
    { label: "Created", value: (k) => k.created_at, render: (k) => when(k.created_at) },
    {
      label: "Limits",
      value: (k) => k.limits.requests_per_minute,
      render: (k) =>
        [
          k.limits.requests_per_minute !== null ? `${k.limits.requests_per_minute} req/min` : null,
          k.limits.tokens_per_minute !== null ? `${k.limits.tokens_per_minute} tokens/min` : null,
        ]
          .filter(Boolean)
          .join(", ") || <span className="muted">none</span>,
    },
    {
      label: "Budget spent",
      value: (k) => Math.max(0, ...k.budgets.map((b) => b.spent_usd / b.usd)),
      render: (k) =>
        k.budgets.length === 0 ? (
          <span className="muted">no budget</span>
        ) : (
          k.budgets.map((b) => (
            <div key={b.scope}>
              ${b.spent_usd.toFixed(2)} of ${b.usd} this {b.period}
              {b.scope === "tenant" ? " (tenant)" : ""}
            </div>
          ))
        ),
    },
    {
      label: "Status",
      value: (k) => (k.revoked_at === null ? 0 : 1),
      render: (k) => (k.revoked_at === null ? "active" : `revoked ${when(k.revoked_at)}`),
    },
    {
      label: "Actions",
      value: () => null,
      render: (k) => {
        const label = k.name ?? k.prefix;
        if (k.revoked_at !== null) return null;
        if (k.id === me.key_id) return <span className="muted small">signed in with it</span>;
        if (confirming !== k.id)
          return (
            <button type="button" className="ghost" onClick={() => setConfirming(k.id)} aria-label={`Revoke ${label}`}>
              Revoke
            </button>
          );
        return (
          <span className="row">
            <span>Revoke {label}? Apps using it are refused.</span>
            <button type="button" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(k.id)}>
              Yes, revoke
            </button>
            <button type="button" className="ghost" onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </span>
        );
      },
    },
  ];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };

  return (
    <section aria-label="Keys">
      <h2>API keys</h2>
      <p className="muted small">
        Keys of tenant {me.tenant}. An app key may chat and give feedback; an admin key may do everything.
      </p>
      <form className="row" onSubmit={submit} aria-label="Create a key">
        <label htmlFor="key-name">Name</label>
        <input
          id="key-name"
          value={name}
          maxLength={100}
          placeholder="e.g. web frontend"
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor="key-role">Role</label>
        <select id="key-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="app">app</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit" disabled={create.isPending}>
          Create key
        </button>
      </form>
      <ErrorNote error={create.error} what="Could not create the key" />
      {created && <NewKey created={created} onDone={() => setCreated(null)} />}
      <ErrorNote error={revoke.error} what="Could not revoke the key" />
      {keys.isPending && <Loading what="keys" />}
      <ErrorNote error={keys.error} what="Could not load the keys" />
      {keys.data && <SortableTable caption="Keys" columns={columns} rows={keys.data.data} rowKey={(k) => k.id} />}
    </section>
  );
}
