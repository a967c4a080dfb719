/**
 * Prompts in the store: versions are inserted, never updated; a label is one
 * row that moves, and every move is also kept as an event (its history). Each
 * change bumps the prompt's `revision`, which the registries of every replica
 * poll. Read-then-write work runs in `writeTransaction`.
 */
import { timeOrderedId } from "../core/ids.js";
import { contentHash } from "../core/prompts/file.js";
import { LATEST } from "../core/prompts/ref.js";
import type { PromptContent } from "../core/prompts/template.js";
import { type Db, writeTransaction } from "./db.js";

export interface StoredVersion {
  prompt: string;
  version: number;
  content: PromptContent;
  contentHash: string;
  author: string;
  message: string;
  createdAt: number;
}

export interface StoredPrompt {
  name: string;
  revision: number;
  createdAt: number;
  updatedAt: number;
  /** Every version, oldest first. */
  versions: StoredVersion[];
  /** label → version (without the implicit `latest`). */
  labels: Map<string, number>;
}

export interface LabelEvent {
  label: string;
  version: number;
  previousVersion: number | null;
  at: number;
  actor: string;
  message: string;
}

export class PromptNotFound extends Error {
  constructor(readonly prompt: string) {
    super(`no prompt '${prompt}'`);
  }
}

export class PromptVersionNotFound extends Error {
  constructor(
    readonly prompt: string,
    readonly version: number,
    readonly latest: number,
  ) {
    super(`prompt '${prompt}' has no version ${version} (its versions: 1 to ${latest})`);
  }
}

/** The names and revisions of every prompt: what a replica polls. */
export async function promptRevisions(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("prompts").select(["name", "revision"]).execute();
  return new Map(rows.map((r) => [r.name, Number(r.revision)]));
}

/** Every prompt (or the ones named) with all its versions and labels. */
export async function loadPrompts(db: Db, names?: string[]): Promise<StoredPrompt[]> {
  if (names && names.length === 0) return [];
  let q = db.selectFrom("prompts").selectAll();
  if (names) q = q.where("name", "in", names);
  const heads = await q.orderBy("name").execute();
  if (heads.length === 0) return [];
  const wanted = heads.map((h) => h.name);
  const versions = await db
    .selectFrom("prompt_versions")
    .selectAll()
    .where("prompt", "in", wanted)
    .orderBy("prompt")
    .orderBy("version")
    .execute();
  const labels = await db.selectFrom("prompt_labels").selectAll().where("prompt", "in", wanted).execute();
  return heads.map((h) => ({
    name: h.name,
    revision: Number(h.revision),
    createdAt: Number(h.created_at),
    updatedAt: Number(h.updated_at),
    versions: versions
      .filter((v) => v.prompt === h.name)
      .map((v) => ({
        prompt: v.prompt,
        version: Number(v.version),
        content: JSON.parse(v.content) as PromptContent,
        contentHash: v.content_hash,
        author: v.author,
        message: v.message,
        createdAt: Number(v.created_at),
      })),
    labels: new Map(labels.filter((l) => l.prompt === h.name).map((l) => [l.label, Number(l.version)])),
  }));
}

export async function loadPrompt(db: Db, name: string): Promise<StoredPrompt | undefined> {
  return (await loadPrompts(db, [name]))[0];
}

/**
 * Stores `content` as the prompt's next version (creating the prompt on its
 * first). With `skipIfUnchanged`, content equal to the newest version creates
 * nothing and that version is returned with `created: false` (imports).
 */
export async function createVersion(
  db: Db,
  name: string,
  content: PromptContent,
  meta: { author: string; message: string; skipIfUnchanged?: boolean },
): Promise<{ version: StoredVersion; created: boolean }> {
  const hash = contentHash(content);
  return writeTransaction(db, async (trx) => {
    const now = Date.now();
    const head = await trx.selectFrom("prompts").select(["revision"]).where("name", "=", name).executeTakeFirst();
    const last = await trx
      .selectFrom("prompt_versions")
      .selectAll()
      .where("prompt", "=", name)
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst();
    if (last && meta.skipIfUnchanged && last.content_hash === hash) {
      return {
        created: false,
        version: {
          prompt: name,
          version: Number(last.version),
          content: JSON.parse(last.content) as PromptContent,
          contentHash: last.content_hash,
          author: last.author,
          message: last.message,
          createdAt: Number(last.created_at),
        },
      };
    }
    const version = last ? Number(last.version) + 1 : 1;
    if (head) {
      await trx
        .updateTable("prompts")
        .set({ revision: Number(head.revision) + 1, updated_at: now })
        .where("name", "=", name)
        .execute();
    } else {
      await trx.insertInto("prompts").values({ name, revision: 1, created_at: now, updated_at: now }).execute();
    }
    const stored: StoredVersion = {
      prompt: name,
      version,
      content,
      contentHash: hash,
      author: meta.author,
      message: meta.message,
      createdAt: now,
    };
    await trx
      .insertInto("prompt_versions")
      .values({
        prompt: name,
        version,
        content: JSON.stringify(content),
        content_hash: hash,
        author: meta.author,
        message: meta.message,
        created_at: now,
      })
      .execute();
    return { version: stored, created: true };
  });
}

/**
 * Points `label` at `version` and records the move. Moving a label to where
 * it already points records nothing and returns `moved: false`.
 */
export async function moveLabel(
  db: Db,
  name: string,
  label: string,
  version: number,
  meta: { actor: string; message: string },
): Promise<{ moved: boolean; previousVersion: number | null }> {
  if (label === LATEST) throw new Error(`'${LATEST}' always points at the newest version and cannot be moved`);
  return writeTransaction(db, async (trx) => {
    const head = await trx.selectFrom("prompts").select(["revision"]).where("name", "=", name).executeTakeFirst();
    if (!head) throw new PromptNotFound(name);
    const newest = await trx
      .selectFrom("prompt_versions")
      .select((eb) => eb.fn.max("version").as("v"))
      .where("prompt", "=", name)
      .executeTakeFirst();
    const latest = Number(newest?.v ?? 0);
    if (version < 1 || version > latest) throw new PromptVersionNotFound(name, version, latest);
    const current = await trx
      .selectFrom("prompt_labels")
      .select(["version"])
      .where("prompt", "=", name)
      .where("label", "=", label)
      .executeTakeFirst();
    const previousVersion = current ? Number(current.version) : null;
    if (previousVersion === version) return { moved: false, previousVersion };
    const now = Date.now();
    if (current) {
      await trx
        .updateTable("prompt_labels")
        .set({ version, updated_at: now, updated_by: meta.actor })
        .where("prompt", "=", name)
        .where("label", "=", label)
        .execute();
    } else {
      await trx
        .insertInto("prompt_labels")
        .values({ prompt: name, label, version, updated_at: now, updated_by: meta.actor })
        .execute();
    }
    await trx
      .insertInto("prompt_label_events")
      .values({
        id: timeOrderedId("ple_", now),
        prompt: name,
        label,
        version,
        previous_version: previousVersion,
        at: now,
        actor: meta.actor,
        message: meta.message,
      })
      .execute();
    await trx
      .updateTable("prompts")
      .set({ revision: Number(head.revision) + 1, updated_at: now })
      .where("name", "=", name)
      .execute();
    return { moved: true, previousVersion };
  });
}

/** A prompt's label moves, newest first (one label's with `label`). */
export async function labelHistory(db: Db, name: string, label?: string, limit = 200): Promise<LabelEvent[]> {
  let q = db.selectFrom("prompt_label_events").selectAll().where("prompt", "=", name);
  if (label) q = q.where("label", "=", label);
  const rows = await q.orderBy("at", "desc").orderBy("id", "desc").limit(limit).execute();
  return rows.map((r) => ({
    label: r.label,
    version: Number(r.version),
    previousVersion: r.previous_version === null ? null : Number(r.previous_version),
    at: Number(r.at),
    actor: r.actor,
    message: r.message,
  }));
}
