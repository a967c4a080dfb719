/** Small shared pieces: links on the router, Markdown, loading and error states. */
import type { MouseEvent, ReactNode } from "react";
import { memo, useMemo } from "react";
import { renderMarkdown } from "./markdown";
import { navigate } from "./router";

export function Link(props: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={props.to} onClick={onClick} className={props.className} aria-current={props.current ? "page" : undefined}>
      {props.children}
    </a>
  );
}

export const Markdown = memo(function Markdown(props: { text: string }) {
  const html = useMemo(() => renderMarkdown(props.text), [props.text]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: renderMarkdown sanitises with DOMPurify
  return <div className="md" dangerouslySetInnerHTML={{ __html: html }} />;
});

export function Loading(props: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {props.what}…
    </p>
  );
}

export function ErrorNote(props: { error: unknown; what?: string }) {
  if (!props.error) return null;
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <p className="error" role="alert">
      {props.what ? `${props.what}: ` : ""}
      {message}
    </p>
  );
}
