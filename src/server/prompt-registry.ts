/**
 * Every prompt version, compiled and held in memory so a request resolves its
 * variant's prompt without reading the store. A change made through this
 * replica's admin API is loaded before the API answers, so the very next
 * request sees it; changes made elsewhere (another replica, the CLI) are found
 * by polling the prompts' revisions every PROMPT_REFRESH_MS, so every replica
 * serves a moved label within that bound (plus one poll's query time).
 */
import type { Logger } from "pino";
import { LATEST, type PromptRef, parsePromptRef } from "../core/prompts/ref.js";
import { type CompiledPrompt, compilePrompt } from "../core/prompts/template.js";
import type { Db } from "../store/db.js";
import { loadPrompts, promptRevisions, type StoredPrompt } from "../store/prompts.js";

export const PROMPT_REFRESH_MS = 1_000;

export interface HeldPrompt {
  stored: StoredPrompt;
  /** version → compiled template; a version that fails to compile (never stored so) is absent. */
  compiled: Map<number, CompiledPrompt>;
}

/** A reference resolved to one version. */
export interface ResolvedPrompt {
  name: string;
  version: number;
  prompt: CompiledPrompt;
}

export class PromptRegistry {
  #byName = new Map<string, HeldPrompt>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  /** Parsed variant references, so a request parses nothing. */
  readonly #refs = new Map<string, PromptRef | string>();

  constructor(
    private readonly db: Db,
    private readonly logger: Pick<Logger, "error" | "warn">,
  ) {}

  /** Loads everything; with `poll`, keeps watching the store for changes. */
  async start(opts: { poll: boolean } = { poll: true }): Promise<void> {
    const all = await loadPrompts(this.db);
    this.#byName = new Map(all.map((p) => [p.name, this.#hold(p)]));
    if (opts.poll) {
      this.#timer = setInterval(() => void this.refresh(), PROMPT_REFRESH_MS);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get(name: string): HeldPrompt | undefined {
    return this.#byName.get(name);
  }

  all(): HeldPrompt[] {
    return [...this.#byName.values()];
  }

  /**
   * The version a reference (`support@production`, `support@3`, `support@latest`)
   * names now, or a sentence saying why there is none. Memory only.
   */
  resolve(refText: string): ResolvedPrompt | string {
    let ref = this.#refs.get(refText);
    if (ref === undefined) {
      ref = parsePromptRef(refText);
      this.#refs.set(refText, ref);
    }
    if (typeof ref === "string") return ref;
    const held = this.#byName.get(ref.name);
    if (!held) return `there is no prompt '${ref.name}'`;
    const versions = held.stored.versions;
    const newest = versions[versions.length - 1]?.version ?? 0;
    let version: number;
    if (ref.version !== undefined) version = ref.version;
    else if (ref.label === LATEST) version = newest;
    else {
      const v = held.stored.labels.get(ref.label);
      if (v === undefined) {
        const labels = [...held.stored.labels.keys()];
        return `prompt '${ref.name}' has no label '${ref.label}' (its labels: ${[LATEST, ...labels].join(", ")})`;
      }
      version = v;
    }
    const prompt = held.compiled.get(version);
    if (!prompt) return `prompt '${ref.name}' has no version ${version} (its versions: 1 to ${newest})`;
    return { name: ref.name, version, prompt };
  }

  /** Reloads one prompt now (after this replica changed it). */
  async reload(name: string): Promise<void> {
    const [p] = await loadPrompts(this.db, [name]);
    if (!p) {
      this.#byName.delete(name);
      return;
    }
    const held = this.#byName.get(name);
    if (!held || p.revision >= held.stored.revision) this.#byName.set(name, this.#hold(p));
  }

  /** Reloads the prompts whose revision changed in the store. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#reloadChanged()
      .catch((e) => this.logger.error({ err: e }, "could not refresh prompts; keeping the ones in memory"))
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  async #reloadChanged(): Promise<void> {
    const revisions = await promptRevisions(this.db);
    const changed = [...revisions].filter(([n, r]) => this.#byName.get(n)?.stored.revision !== r).map(([n]) => n);
    if (changed.length === 0) return;
    for (const p of await loadPrompts(this.db, changed)) {
      const held = this.#byName.get(p.name);
      // A poll that read before a change this replica just loaded must not undo it.
      if (!held || p.revision > held.stored.revision) this.#byName.set(p.name, this.#hold(p));
    }
  }

  #hold(p: StoredPrompt): HeldPrompt {
    const compiled = new Map<number, CompiledPrompt>();
    for (const v of p.versions) {
      const c = compilePrompt(v.content);
      if (c.ok) compiled.set(v.version, c.prompt);
      else
        this.logger.warn(
          { prompt: p.name, version: v.version, problems: c.problems },
          "stored prompt version does not compile",
        );
    }
    return { stored: p, compiled };
  }
}
