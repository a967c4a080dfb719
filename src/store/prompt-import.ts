/**
 * Importing prompt files (core/prompts/file.ts), shared by `switchyard prompts
 * import` and `POST /v1/admin/prompts/import`: every file is checked before
 * anything is stored, so one bad file changes nothing; then each file's
 * content becomes a new version unless it equals the newest, and its labels
 * move to that version.
 */
import { parsePromptFile } from "../core/prompts/file.js";
import { checkPromptContent, type PromptContent } from "../core/prompts/template.js";
import type { Db } from "./db.js";
import { createVersion, moveLabel } from "./prompts.js";

export interface ImportOutcome {
  source: string;
  prompt: string;
  version: number;
  created: boolean;
  moved: string[];
}

export class PromptImportError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    /** The prompt the file names, when it got that far. */
    readonly prompt?: string,
  ) {
    super(
      `${source}${prompt ? `: prompt '${prompt}' is not valid` : ""}:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
}

/** Parses and checks every file, or throws a PromptImportError naming the first bad one and its problems. */
export function checkPromptFiles(files: { source: string; text: string }[]) {
  return files.map(({ source, text }) => {
    const r = parsePromptFile(text);
    if (!r.ok) throw new PromptImportError(source, r.problems);
    const { name, labels, message, version: _v, ...raw } = r.file;
    const c = checkPromptContent(raw);
    if (!c.ok)
      throw new PromptImportError(
        source,
        c.problems.map((p) => `${p.path}: ${p.message}`),
        name,
      );
    return { source, name, labels, message, content: c.prompt.content as PromptContent };
  });
}

export async function importPromptFiles(
  db: Db,
  files: { source: string; text: string }[],
  author: string,
): Promise<ImportOutcome[]> {
  const checked = checkPromptFiles(files);
  const out: ImportOutcome[] = [];
  for (const x of checked) {
    const { version, created } = await createVersion(db, x.name, x.content, {
      author,
      message: x.message ?? `imported from ${x.source}`,
      skipIfUnchanged: true,
    });
    const moved: string[] = [];
    for (const label of x.labels) {
      const r = await moveLabel(db, x.name, label, version.version, {
        actor: author,
        message: `imported from ${x.source}`,
      });
      if (r.moved) moved.push(label);
    }
    out.push({ source: x.source, prompt: x.name, version: version.version, created, moved });
  }
  return out;
}
