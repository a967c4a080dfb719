/**
 * Feedback on one answer, by its request id: thumbs, 1–5 stars, a comment and
 * "edit as correction" (the answer the user wanted, which replaces this one in
 * fine-tuning exports). Giving the same kind again replaces the earlier one.
 */
import { useMutation } from "@tanstack/react-query";
import { useId, useState } from "react";
import { type FeedbackKind, postJson } from "../api";
import { useAuth } from "../auth";
import { ErrorNote } from "../ui";

const SAID: Record<FeedbackKind, (v: unknown) => string> = {
  thumbs: (v) => `thumbs ${v}`,
  stars: (v) => `${v} star${v === 1 ? "" : "s"}`,
  comment: () => "comment",
  correction: () => "correction",
};

/** Drawn rather than an emoji: machines without an emoji font show emoji as empty boxes. */
function Thumb(props: { down?: boolean }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" className={props.down ? "flip" : undefined}>
      <path
        d="M2 10h4v11H2zM8 21h9.3a2 2 0 0 0 2-1.6l1.6-7.4A2 2 0 0 0 19 9.6h-5.3l.8-4.1a1.6 1.6 0 0 0-2.9-1.2L8 10z"
        fill="currentColor"
      />
    </svg>
  );
}

export function Feedback(props: { requestId: string; answer: string }) {
  const { key } = useAuth();
  const [thumbs, setThumbs] = useState<"up" | "down" | null>(null);
  const [stars, setStars] = useState<number | null>(null);
  const [open, setOpen] = useState<"comment" | "correction" | null>(null);
  const [text, setText] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const textId = useId();

  const give = useMutation({
    mutationFn: (f: { kind: FeedbackKind; value: unknown }) =>
      postJson(key, "/v1/feedback", { request_id: props.requestId, kind: f.kind, value: f.value }),
    onSuccess: (_r, f) => {
      setSaved(`Saved: ${SAID[f.kind](f.value)}`);
      if (f.kind === "thumbs") setThumbs(f.value as "up" | "down");
      if (f.kind === "stars") setStars(f.value as number);
      if (f.kind === "comment" || f.kind === "correction") setOpen(null);
    },
    onError: () => setSaved(null),
  });

  const openEditor = (which: "comment" | "correction") => {
    setOpen(open === which ? null : which);
    setText(which === "correction" ? props.answer : "");
    give.reset();
  };

  return (
    <div className="feedback">
      <fieldset className="row" aria-label="Rate this answer">
        <button
          type="button"
          className="icon"
          aria-label="Thumbs up"
          aria-pressed={thumbs === "up"}
          onClick={() => give.mutate({ kind: "thumbs", value: "up" })}
        >
          <Thumb />
        </button>
        <button
          type="button"
          className="icon"
          aria-label="Thumbs down"
          aria-pressed={thumbs === "down"}
          onClick={() => give.mutate({ kind: "thumbs", value: "down" })}
        >
          <Thumb down />
        </button>
        <span className="stars">
          {[1, 2, 3, 4, 5].map((n) => (
            <button
              key={n}
              type="button"
              className="icon star"
              aria-label={`${n} star${n === 1 ? "" : "s"}`}
              aria-pressed={stars === n}
              data-on={stars !== null && n <= stars}
              onClick={() => give.mutate({ kind: "stars", value: n })}
            >
              ★
            </button>
          ))}
        </span>
        <button
          type="button"
          className="ghost"
          aria-expanded={open === "comment"}
          onClick={() => openEditor("comment")}
        >
          Comment
        </button>
        <button
          type="button"
          className="ghost"
          aria-expanded={open === "correction"}
          onClick={() => openEditor("correction")}
        >
          Edit as correction
        </button>
      </fieldset>
      {open && (
        <form
          className="editor"
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim() === "") return;
            give.mutate({ kind: open, value: text });
          }}
        >
          <label htmlFor={textId}>{open === "comment" ? "Your comment" : "The answer you wanted"}</label>
          <textarea
            id={textId}
            rows={open === "correction" ? 6 : 3}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <div className="row">
            <button type="submit" disabled={give.isPending || text.trim() === ""}>
              {open === "comment" ? "Send comment" : "Save correction"}
            </button>
            <button type="button" className="ghost" onClick={() => setOpen(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <p className="muted small" aria-live="polite">
        {give.isPending ? "Saving…" : saved}
      </p>
      <ErrorNote error={give.error} what="Feedback not saved" />
    </div>
  );
}
