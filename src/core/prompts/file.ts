/**
 * Prompts as YAML files, so a team can keep them in git: one file per prompt,
 * holding the content of one version and the labels that should point at it.
 *
 * ```yaml
 * name: support
 * description: The support assistant
 * message: Shorter answers          # the version's message when imported (optional)
 * labels: [staging]                 # moved to this version on import (optional)
 * variables:
 *   product: { description: The product asked about, default: Switchyard }
 * template:
 *   system: You answer questions about {{product}}.
 * ```
 * `version` in an exported file is informational: importing a file whose
 * content equals the newest version creates nothing, and any other content
 * becomes a new version.
 */
import { createHash } from "node:crypto";
import { parseDocument, stringify } from "yaml";
import { z } from "zod";
import { stableJson } from "../stable-json.js";
import { LABEL_NAME, LABEL_RULE, LATEST, PROMPT_NAME, PROMPT_NAME_RULE } from "./ref.js";
import { type PromptContent, promptContentSchema } from "./template.js";

export const promptFileSchema = promptContentSchema.extend({
  name: z.string().regex(PROMPT_NAME, PROMPT_NAME_RULE),
  message: z.string().optional(),
  labels: z
    .array(
      z
        .string()
        .regex(LABEL_NAME, LABEL_RULE)
        .refine((l) => l !== LATEST, `'${LATEST}' always points at the newest version and cannot be set`),
    )
    .default([]),
  version: z.number().int().positive().optional(),
});

export type PromptFile = z.infer<typeof promptFileSchema>;

/** A content's identity: equal content (key order aside), equal hash. */
export function contentHash(content: PromptContent): string {
  const { description, variables, template } = content;
  return createHash("sha256").update(stableJson({ description, variables, template })).digest("hex").slice(0, 32);
}

/** The content alone, as the canonical YAML text that diffs compare. */
export function contentText(content: PromptContent): string {
  const { description, variables, template } = content;
  return stringify(
    { ...(description !== undefined ? { description } : {}), variables, template },
    { lineWidth: 0, blockQuote: "literal" },
  );
}

export function promptFileText(file: {
  name: string;
  version: number;
  labels: string[];
  content: PromptContent;
}): string {
  const { description, variables, template } = file.content;
  const head = `# Switchyard prompt ${file.name}, version ${file.version}. Import with: switchyard prompts import <file>\n`;
  return (
    head +
    stringify(
      {
        name: file.name,
        version: file.version,
        ...(file.labels.length > 0 ? { labels: file.labels } : {}),
        ...(description !== undefined ? { description } : {}),
        variables,
        template,
      },
      { lineWidth: 0, blockQuote: "literal" },
    )
  );
}

/**
 * Parses one prompt file; problems name the key path (and the file, which the
 * caller adds). `name` overrides (or supplies) the file's own.
 */
export function parsePromptFile(
  text: string,
  opts: { name?: string } = {},
): { ok: true; file: PromptFile } | { ok: false; problems: string[] } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0)
    return { ok: false, problems: [(doc.errors[0] as Error).message.split("\n")[0] ?? "bad YAML"] };
  const raw = doc.toJS() as unknown;
  const value =
    opts.name !== undefined && raw && typeof raw === "object" ? { ...(raw as object), name: opts.name } : raw;
  const r = promptFileSchema.safeParse(value);
  if (!r.success) {
    return {
      ok: false,
      problems: r.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`),
    };
  }
  return { ok: true, file: r.data };
}
