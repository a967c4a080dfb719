/**
 * Prompt names, labels and references. A variant names a prompt as
 * `NAME@LABEL` (follows the label as it moves) or `NAME@VERSION` (pinned);
 * `NAME@latest` follows the newest version. A label starts with a letter, so
 * `support@3` is always version 3 and never a label called "3".
 */
export const PROMPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const LABEL_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
/** A label every prompt has, always on its newest version; it cannot be moved. */
export const LATEST = "latest";

export const PROMPT_NAME_RULE =
  "a prompt name is letters, digits and . _ - (starting with a letter or digit), at most 128";
export const LABEL_RULE = "a label starts with a letter, then letters, digits and . _ - (at most 64)";

export type PromptRef =
  | { name: string; version: number; label?: undefined }
  | { name: string; label: string; version?: undefined };

/** Parses `NAME@LABEL` or `NAME@VERSION`; a problem as a sentence otherwise. */
export function parsePromptRef(text: string): PromptRef | string {
  const at = text.lastIndexOf("@");
  if (at <= 0)
    return `'${text}' is not a prompt reference: write NAME@LABEL (support@production) or NAME@VERSION (support@3)`;
  const name = text.slice(0, at);
  const tail = text.slice(at + 1);
  if (!PROMPT_NAME.test(name)) return `'${name}' is not a prompt name (${PROMPT_NAME_RULE})`;
  if (/^\d+$/.test(tail)) {
    const version = Number(tail);
    if (version < 1 || !Number.isSafeInteger(version)) return `'${tail}' is not a version (versions count from 1)`;
    return { name, version };
  }
  if (!LABEL_NAME.test(tail)) return `'${tail}' is neither a version number nor a label (${LABEL_RULE})`;
  return { name, label: tail };
}

export function formatRef(ref: PromptRef): string {
  return `${ref.name}@${ref.version ?? ref.label}`;
}

/** What the request log's `prompt_version` holds: the prompt and the version that served, e.g. `support@3`. */
export function promptVersionKey(name: string, version: number): string {
  return `${name}@${version}`;
}
