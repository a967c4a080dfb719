/**
 * SFT and DPO exports: reads answered turns a page at a time, filters them,
 * builds rows, assigns each a split by conversation and hands it to a sink
 * (files for the CLI, an HTTP stream for the API). Returns the summary.
 */
import {
  bump,
  type DpoSource,
  type ExampleOptions,
  type ExportSummary,
  emptySummary,
  exampleMessages,
  languageOf,
  loadLanguageDetector,
  passesFilter,
  promptAsText,
  type RatedTurn,
  rowKey,
  type Split,
  type SplitRatios,
  splitOf,
  type TurnFilter,
  thumbsOf,
  trainingMessage,
} from "../core/dataset.js";
import type { ChatMessage } from "../core/openai-types.js";
import type { Db } from "./db.js";
import { preferencePicks, ratedTurnPages, requestsWithPreference, turnsOfRequests } from "./rated-turns.js";

export interface ExportOptions extends ExampleOptions {
  tenant: string;
  filter: TurnFilter;
  ratios: SplitRatios;
  seed: string;
  dedupe: boolean;
  /** SFT: train on a user's correction instead of the answer it corrects. */
  useCorrections: boolean;
  /** DPO: which pairs to make. */
  sources: DpoSource[];
  /** DPO: prompt as a message list (TRL conversational) or one string. */
  promptFormat: "messages" | "strings";
  /** Called every few hundred turns with how many have been read. */
  onProgress?: ((turnsRead: number) => void) | undefined;
  /** Stops the export between pages (the client of a streamed export left). */
  signal?: AbortSignal | undefined;
}

/**
 * Pages of turns, with a pause between pages: the reads are synchronous, and
 * an export run by the server must let the requests it serves go in between.
 */
async function* pages(db: Db, o: ExportOptions): AsyncGenerator<RatedTurn[]> {
  for await (const page of ratedTurnPages(db, o.tenant)) {
    o.signal?.throwIfAborted();
    yield page;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export type RowSink = (split: Split, row: object) => void | Promise<void>;

/** How many answered turns the tenant has: the progress bar's total. */
export async function countTurns(db: Db, tenant: string): Promise<number> {
  const r = await db
    .selectFrom("conversation_messages")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("tenant", "=", tenant)
    .where("role", "=", "assistant")
    .where("id", "like", "%.answer")
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

function keeps(t: RatedTurn, o: ExportOptions, preferred: Set<string>, lang: string): boolean {
  if (!passesFilter(t, o.filter, preferred.has(t.requestId))) return false;
  return !o.filter.languages || o.filter.languages.includes(lang);
}

export async function exportSft(db: Db, o: ExportOptions, sink: RowSink): Promise<ExportSummary> {
  await loadLanguageDetector();
  const summary = emptySummary("sft");
  const seen = new Set<string>();
  const preferred = o.filter.feedback?.includes("preference")
    ? await requestsWithPreference(db, o.tenant)
    : new Set<string>();
  let read = 0;
  const language = conversationLanguage();
  for await (const page of pages(db, o)) {
    for (const t of page) {
      const lang = language(t);
      if (!keeps(t, o, preferred, lang)) {
        bump(summary.skipped, "filtered");
        continue;
      }
      const corrected = o.useCorrections && t.feedback.correction !== null;
      const answer: ChatMessage = corrected ? { role: "assistant", content: t.feedback.correction } : t.answer;
      const messages = exampleMessages([...t.prompt, answer], o).map(trainingMessage);
      const row = { messages };
      if (o.dedupe) {
        const key = rowKey(row);
        if (seen.has(key)) {
          summary.duplicates_dropped++;
          continue;
        }
        seen.add(key);
      }
      const split = splitOf(t.conversationId, o.ratios, o.seed);
      await sink(split, row);
      count(summary, split, lang);
      bump(summary.feedback, `thumbs_${thumbsOf(t.feedback) ?? "none"}`);
      if (t.feedback.stars !== null) bump(summary.feedback, "rated");
      if (corrected) bump(summary.feedback, "corrected");
    }
    read += page.length;
    o.onProgress?.(read);
  }
  return summary;
}

/**
 * The language of each turn's conversation, detected once per conversation from
 * its first turn (pages come grouped by conversation): detection costs ~100 µs,
 * and the later turns of a conversation only add to the same text.
 */
function conversationLanguage(): (t: RatedTurn) => string {
  let conversation = "";
  let lang = "und";
  return (t) => {
    if (t.conversationId !== conversation) {
      conversation = t.conversationId;
      lang = languageOf(t.prompt);
    }
    return lang;
  };
}

function count(summary: ExportSummary, split: Split, lang: string): void {
  summary.rows++;
  summary.splits[split]++;
  bump(summary.languages, lang);
}

/** Up-voted answers each down-voted answer is paired with, at most. */
const VOTE_PAIRS_PER_ANSWER = 3;

/** A pair to write, before its turns are loaded again: ids only, so millions fit. */
interface PairPlan {
  source: DpoSource;
  chosen: string;
  /** The request whose answer is rejected; for a correction, the same as `chosen`. */
  rejected: string;
  conversations: string[];
}

/**
 * DPO pairs from three sources: a correction against the answer it corrects,
 * an arena pick (the picked answer against the other, when both answered the
 * same prompt), and an up-voted against a down-voted answer to the same prompt.
 * Pairs link conversations; linked conversations share one split (the split of
 * the smallest id among them), so no conversation straddles two files.
 */
export async function exportDpo(db: Db, o: ExportOptions, sink: RowSink): Promise<ExportSummary> {
  await loadLanguageDetector();
  const summary = emptySummary("dpo");
  const plans: PairPlan[] = [];
  const votes = new Map<string, { up: string[]; down: string[] }>();
  // Only the turns a pair may need are remembered, so memory follows the feedback, not the traffic.
  const picks = o.sources.includes("preference") ? await preferencePicks(db, o.tenant) : [];
  const picked = new Set(picks.flatMap((p) => [p.requestId, p.otherRequestId]));
  const conversationOf = new Map<string, string>();
  const none = new Set<string>();
  let read = 0;
  const language = conversationLanguage();
  for await (const page of pages(db, o)) {
    for (const t of page) {
      if (!keeps(t, o, none, language(t))) continue;
      if (picked.has(t.requestId)) conversationOf.set(t.requestId, t.conversationId);
      if (o.sources.includes("correction") && t.feedback.correction !== null) {
        plans.push({
          source: "correction",
          chosen: t.requestId,
          rejected: t.requestId,
          conversations: [t.conversationId],
        });
      }
      const thumbs = thumbsOf(t.feedback);
      if (o.sources.includes("votes") && thumbs) {
        const key = rowKey(t.prompt.map(trainingMessage));
        let group = votes.get(key);
        if (!group) {
          group = { up: [], down: [] };
          votes.set(key, group);
        }
        group[thumbs].push(t.requestId);
        conversationOf.set(t.requestId, t.conversationId);
      }
    }
    read += page.length;
    o.onProgress?.(read);
  }

  for (const p of picks) {
    if (p.pick === "tie" || p.pick === "both_bad") {
      bump(summary.skipped, `preference_${p.pick}`);
      continue;
    }
    const a = conversationOf.get(p.requestId);
    const b = conversationOf.get(p.otherRequestId);
    if (a === undefined || b === undefined) {
      bump(summary.skipped, "preference_filtered_or_unanswered");
      continue;
    }
    const [chosen, rejected] = p.pick === "this" ? [p.requestId, p.otherRequestId] : [p.otherRequestId, p.requestId];
    plans.push({ source: "preference", chosen, rejected, conversations: [a, b] });
  }
  for (const group of votes.values()) {
    // Every up against every down would grow with the square of a popular prompt's votes (and
    // link all its conversations into one split): each down-voted answer meets at most a few.
    group.down.forEach((down, i) => {
      for (let k = 0; k < Math.min(VOTE_PAIRS_PER_ANSWER, group.up.length); k++) {
        const up = group.up[(i + k) % group.up.length] as string;
        plans.push({
          source: "votes",
          chosen: up,
          rejected: down,
          conversations: [conversationOf.get(up) as string, conversationOf.get(down) as string],
        });
      }
      if (group.up.length > VOTE_PAIRS_PER_ANSWER)
        bump(summary.skipped, "votes_pairs_over_cap", group.up.length - VOTE_PAIRS_PER_ANSWER);
    });
  }

  const splitOfConversation = linkedSplits(plans, o);
  const seen = new Set<string>();
  const PLANS_PER_LOAD = 250;
  for (let i = 0; i < plans.length; i += PLANS_PER_LOAD) {
    o.signal?.throwIfAborted();
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const part = plans.slice(i, i + PLANS_PER_LOAD);
    const turns = new Map(
      (
        await turnsOfRequests(
          db,
          o.tenant,
          part.flatMap((p) => [p.chosen, p.rejected]),
        )
      ).map((t) => [t.requestId, t]),
    );
    for (const plan of part) {
      const chosen = turns.get(plan.chosen);
      const rejected = turns.get(plan.rejected);
      if (!chosen || !rejected) continue;
      if (
        plan.source === "preference" &&
        rowKey(chosen.prompt.map(trainingMessage)) !== rowKey(rejected.prompt.map(trainingMessage))
      ) {
        bump(summary.skipped, "preference_different_prompts");
        continue;
      }
      const chosenMessage: ChatMessage =
        plan.source === "correction" ? { role: "assistant", content: chosen.feedback.correction } : chosen.answer;
      const row = dpoRow(chosen.prompt, chosenMessage, rejected.answer, o, plan);
      if (o.dedupe) {
        const key = rowKey([row.prompt, row.chosen, row.rejected]);
        if (seen.has(key)) {
          summary.duplicates_dropped++;
          continue;
        }
        seen.add(key);
      }
      const split = splitOfConversation(plan.conversations[0] as string);
      await sink(split, row);
      count(summary, split, languageOf(chosen.prompt));
      bump(summary.feedback, plan.source);
    }
  }
  return summary;
}

function dpoRow(prompt: ChatMessage[], chosen: ChatMessage, rejected: ChatMessage, o: ExportOptions, plan: PairPlan) {
  const p = exampleMessages(prompt, o).map(trainingMessage);
  const [c, r] = exampleMessages([chosen, rejected], { redact: o.redact }).map(trainingMessage) as [
    ChatMessage,
    ChatMessage,
  ];
  const source = { source: plan.source, chosen_request_id: plan.chosen, rejected_request_id: plan.rejected };
  if (o.promptFormat === "strings") {
    return { prompt: promptAsText(p), chosen: textOf(c), rejected: textOf(r), ...source };
  }
  return { prompt: p, chosen: [c], rejected: [r], ...source };
}

function textOf(m: ChatMessage): string {
  return typeof m.content === "string" ? m.content : JSON.stringify(m.content);
}

/** Union-find over the conversations pairs link; each group takes the split of its smallest id. */
function linkedSplits(plans: PairPlan[], o: ExportOptions): (conversationId: string) => Split {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root) as string;
    let cur = x;
    while (cur !== root) {
      const next = parent.get(cur) as string;
      parent.set(cur, root);
      cur = next;
    }
    return root;
  };
  for (const plan of plans) {
    let root = find(plan.conversations[0] as string);
    for (const c of plan.conversations.slice(1)) {
      const r = find(c);
      if (r === root) continue;
      // The smaller id becomes the root, so a group's root is its smallest id.
      if (r < root) {
        parent.set(root, r);
        root = r;
      } else parent.set(r, root);
    }
  }
  return (id) => splitOf(find(id), o.ratios, o.seed);
}
