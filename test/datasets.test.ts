/** From traffic and feedback to fine-tuning files: SFT and DPO rows, splits, filters, redaction, API and CLI. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitOf } from "../src/core/dataset.js";
import { createKey } from "../src/store/keys.js";
import { runCli } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let admin: string;
let app: string;
let dir: string;
const ids: Record<string, string> = {};
const FRENCH = "Bonjour, pouvez-vous m'expliquer comment fonctionne la photosynthèse des plantes vertes ?";

type Msg = { role: string; content: string };
const u = (content: string): Msg => ({ role: "user", content });
const a = (content: string): Msg => ({ role: "assistant", content });

async function chat(name: string, session: string, messages: Msg[], answer: string, stream = false): Promise<void> {
  upstream.script.push({ kind: "ok", content: answer });
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${app}`, "x-switchyard-session": session },
    body: JSON.stringify({ model: "chat", messages, stream }),
  });
  expect(res.status).toBe(200);
  await res.text();
  ids[name] = res.headers.get("x-switchyard-request-id") as string;
}

async function feedback(name: string, kind: string, value: unknown, user = "rater"): Promise<void> {
  const res = await fetch(`${gw.url}/v1/feedback`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${app}` },
    body: JSON.stringify({ request_id: ids[name], kind, value, user }),
  });
  expect(res.status, await res.text()).toBeLessThan(300);
}

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: {
      chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] },
    },
    tenants: { acme: { routes: "*" } },
  });
  admin = (await createKey(gw.gateway.db, { tenant: "acme", role: "admin" })).key;
  app = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  await gw.gateway.keys.refresh();

  await chat("math1", "ses-math", [u("What is 2+2?")], "4");
  await chat("math2", "ses-math", [u("What is 2+2?"), a("4"), u("And 3+3?")], "6", true);
  await chat("lyon", "ses-wrong", [u("Capital of France?")], "Lyon");
  await chat("paris", "ses-right", [u("Capital of France?")], "Paris", true);
  await chat("haiku1", "ses-arena-1", [u("Write a haiku")], "haiku one");
  await chat("haiku2", "ses-arena-2", [u("Write a haiku")], "haiku two");
  await chat("dup", "ses-dup", [u("What is 2+2?")], "4");
  await chat("pii", "ses-pii", [u("Mail me at bob.smith@example.com or call +1 415 555 0100.")], "Sure");
  await chat("tie1", "ses-tie-1", [u("Name a colour")], "red");
  await chat("tie2", "ses-tie-2", [u("Name a colour")], "blue");
  await chat("fr", "ses-fr", [u(FRENCH)], "Oui");

  await feedback("math1", "thumbs", "up");
  await feedback("math2", "stars", 5);
  await feedback("lyon", "thumbs", "down");
  await feedback("lyon", "correction", "Paris");
  await feedback("paris", "thumbs", "up");
  await feedback("haiku1", "preference", { other_request_id: ids.haiku2, pick: "other" });
  await feedback("tie1", "preference", { other_request_id: ids.tie2, pick: "tie" });
  await feedback("pii", "tags", ["contact"]);

  dir = mkdtempSync(join(tmpdir(), "switchyard-export-"));
  writeFileSync(join(dir, "switchyard.yaml"), `database: { url: ${gw.dbPath} }\ntenants:\n  acme: { routes: "*" }\n`);
  await gw.gateway.recorded();
  await gw.gateway.log.flush();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

function readSplits(out: string): Record<string, any[]> {
  const read = (s: string) =>
    readFileSync(join(out, `${s}.jsonl`), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l));
  return { train: read("train"), validation: read("validation"), test: read("test") };
}

const all = (s: Record<string, any[]>) => Object.values(s).flat();
const byText = (rows: any[]) => rows.map((r) => JSON.stringify(r)).sort();

function exportCli(kind: string, name: string, ...args: string[]) {
  const out = join(dir, name);
  const r = runCli(["-c", join(dir, "switchyard.yaml"), "export", kind, "--out", out, ...args], dir);
  expect(r.status, r.stderr).toBe(0);
  return {
    out,
    stderr: r.stderr,
    splits: readSplits(out),
    summary: JSON.parse(readFileSync(join(out, "summary.json"), "utf8")),
  };
}

describe("SFT export", () => {
  it("writes one example per answered request, corrected where a user corrected it, duplicates dropped", () => {
    const { splits, summary, stderr } = exportCli("sft", "sft-all");
    expect(byText(all(splits))).toEqual(
      byText([
        { messages: [u("What is 2+2?"), a("4")] },
        { messages: [u("What is 2+2?"), a("4"), u("And 3+3?"), a("6")] },
        { messages: [u("Capital of France?"), a("Paris")] }, // the correction of "Lyon"
        { messages: [u("Capital of France?"), a("Paris")] },
        { messages: [u("Write a haiku"), a("haiku one")] },
        { messages: [u("Write a haiku"), a("haiku two")] },
        { messages: [u("Mail me at bob.smith@example.com or call +1 415 555 0100."), a("Sure")] },
        { messages: [u("Name a colour"), a("red")] },
        { messages: [u("Name a colour"), a("blue")] },
        { messages: [u(FRENCH), a("Oui")] },
      ]).filter((r, i, list) => list.indexOf(r) === i),
    );
    // "What is 2+2?"/"4" twice (ses-dup, ses-math) and "Capital of France?"/"Paris" twice (ses-right,
    // ses-wrong corrected): the first met in conversation-id order is kept, and the summary counts what was kept.
    expect(summary.duplicates_dropped).toBe(2);
    expect(summary.rows).toBe(9);
    expect(summary.splits.train + summary.splits.validation + summary.splits.test).toBe(9);
    expect(summary.feedback).toEqual({ thumbs_none: 8, thumbs_up: 1, rated: 1 });
    // Under 40 characters of user text the language is undetermined.
    expect(summary.languages).toEqual({ und: 7, eng: 1, fra: 1 });
    expect(stderr).toContain("wrote 9 sft rows");
    expect(existsSync(join(dir, "sft-all", "train.jsonl.partial"))).toBe(false);
  });

  it("filters by feedback, stars, tags and route, and applies a system prompt", () => {
    const up = exportCli("sft", "sft-up", "--feedback", "thumbs:up");
    expect(byText(all(up.splits))).toEqual(
      byText([{ messages: [u("What is 2+2?"), a("4")] }, { messages: [u("Capital of France?"), a("Paris")] }]),
    );
    const stars = exportCli("sft", "sft-stars", "--min-stars", "5", "--system", "Be brief.");
    expect(all(stars.splits)).toEqual([
      { messages: [{ role: "system", content: "Be brief." }, u("What is 2+2?"), a("4"), u("And 3+3?"), a("6")] },
    ]);
    const tagged = exportCli("sft", "sft-tag", "--tag", "contact", "--redact");
    expect(all(tagged.splits)).toEqual([{ messages: [u("Mail me at [EMAIL] or call [PHONE]."), a("Sure")] }]);
    const original = exportCli("sft", "sft-orig", "--feedback", "correction", "--no-corrections");
    expect(all(original.splits)).toEqual([{ messages: [u("Capital of France?"), a("Lyon")] }]);
    const french = exportCli("sft", "sft-fr", "--language", "fra");
    expect(all(french.splits)).toEqual([{ messages: [u(FRENCH), a("Oui")] }]);
    const noRoute = exportCli("sft", "sft-none", "--route", "other");
    expect(noRoute.summary.rows).toBe(0);
  });

  it("puts each conversation in the split its hash names, the same on every run", () => {
    const ratios: [number, number, number] = [0.34, 0.33, 0.33];
    const first = exportCli("sft", "split-1", "--split", "34/33/33", "--no-dedupe");
    const again = exportCli("sft", "split-2", "--split", "34/33/33", "--no-dedupe");
    expect(again.splits).toEqual(first.splits);
    const fileOf = (pred: (r: any) => boolean) =>
      Object.entries(first.splits)
        .filter(([, rows]) => rows.some(pred))
        .map(([s]) => s);
    const last = (r: any) => r.messages[r.messages.length - 1].content;
    for (const [session, answer] of <Array<[string, string]>>[
      ["ses-arena-1", "haiku one"],
      ["ses-arena-2", "haiku two"],
      ["ses-pii", "Sure"],
      ["ses-tie-1", "red"],
      ["ses-tie-2", "blue"],
      ["ses-wrong", "Paris"],
    ]) {
      if (session === "ses-wrong") continue; // "Paris" is ses-right's answer too
      expect(
        fileOf((r) => last(r) === answer),
        session,
      ).toEqual([splitOf(session, ratios, "switchyard")]);
    }
    // Both examples of ses-math (one turn, then two) are in its split.
    const mathSplit = splitOf("ses-math", ratios, "switchyard");
    expect(fileOf((r) => r.messages.length === 4)).toEqual([mathSplit]);
    expect(first.splits[mathSplit]?.some((r) => r.messages.length === 2 && last(r) === "4")).toBe(true);
    // Another seed deals the same rows differently.
    const seeded = exportCli("sft", "split-3", "--split", "34/33/33", "--no-dedupe", "--seed", "another");
    expect(byText(all(seeded.splits))).toEqual(byText(all(first.splits)));
    expect(seeded.splits).not.toEqual(first.splits);
  });

  // Runs `switchyard` eight times, one after another: slow on a busy 2-core machine.
  it("refuses bad options, naming them", () => {
    const cases: Array<[string[], string]> = [
      [["--split", "80/20"], "--split: expected three non-negative numbers"],
      [["--feedback", "thumbs:sideways"], "--feedback: unknown feedback filter 'thumbs:sideways'"],
      [["--min-stars", "9"], "--min-stars: expected a number from 1 to 5"],
      [["--from", "yesterday"], "--from: expected a date"],
      [["--from", "2026-12-01", "--to", "2026-11-01"], "--to: must be later than from"],
    ];
    for (const [args, message] of cases) {
      const r = runCli(["-c", join(dir, "switchyard.yaml"), "export", "sft", "--out", join(dir, "bad"), ...args], dir);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(message);
    }
    // A split file that cannot be written fails the export with the reason, and leaves no partial file.
    const blocked = join(dir, "blocked");
    mkdirSync(join(blocked, "validation.jsonl.partial"), { recursive: true });
    const failed = runCli(["-c", join(dir, "switchyard.yaml"), "export", "sft", "--out", blocked], dir);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("EISDIR");
    expect(readdirSync(blocked)).toEqual(["validation.jsonl.partial"]);
    const dpo = runCli(
      ["-c", join(dir, "switchyard.yaml"), "export", "dpo", "--out", join(dir, "bad"), "--tag", "x"],
      dir,
    );
    expect(dpo.status).toBe(1);
    expect(dpo.stderr).toContain("--tag: applies to SFT exports only");
  }, 120_000);
});

describe("DPO export", () => {
  it("pairs corrections, arena picks and up- against down-votes to the same prompt", () => {
    const { splits, summary } = exportCli("dpo", "dpo-all");
    const rows = all(splits);
    const pick = (r: any) => ({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected, source: r.source });
    expect(byText(rows.map(pick))).toEqual(
      byText([
        { prompt: [u("Capital of France?")], chosen: [a("Paris")], rejected: [a("Lyon")], source: "correction" },
        { prompt: [u("Write a haiku")], chosen: [a("haiku two")], rejected: [a("haiku one")], source: "preference" },
      ]),
    );
    const haiku = rows.find((r) => r.source === "preference");
    expect(haiku).toMatchObject({ chosen_request_id: ids.haiku2, rejected_request_id: ids.haiku1 });
    // The up/down pair on "Capital of France?" is the same triple as the correction: dropped as a duplicate.
    expect(summary.duplicates_dropped).toBe(1);
    expect(summary.skipped).toMatchObject({ preference_tie: 1 });

    const votes = exportCli("dpo", "dpo-votes", "--sources", "votes", "--prompt-format", "strings");
    expect(all(votes.splits)).toEqual([
      {
        prompt: "Capital of France?",
        chosen: "Paris",
        rejected: "Lyon",
        source: "votes",
        chosen_request_id: ids.paris,
        rejected_request_id: ids.lyon,
      },
    ]);
  });

  it("keeps the two conversations of a pair in one split: the split of the smaller id", () => {
    // A seed under which ses-right and ses-wrong would land in different splits on their own.
    const ratios: [number, number, number] = [0.34, 0.33, 0.33];
    const seed = Array.from({ length: 100 }, (_, i) => `seed-${i}`).find(
      (s) => splitOf("ses-right", ratios, s) !== splitOf("ses-wrong", ratios, s),
    ) as string;
    const { splits } = exportCli("dpo", "dpo-linked", "--sources", "votes", "--split", "34/33/33", "--seed", seed);
    expect(splits[splitOf("ses-right", ratios, seed)]?.map((r) => r.chosen_request_id)).toEqual([ids.paris]);
    expect(all(splits)).toHaveLength(1);
  });
});

describe("the admin API", () => {
  const get = (key: string, path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it("streams the same rows as the CLI, split by split, and a summary", async () => {
    const cli = exportCli("sft", "api-compare");
    for (const split of ["train", "validation", "test"]) {
      const res = await get(admin, `/v1/admin/datasets/sft?split=${split}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/x-ndjson");
      const text = await res.text();
      const lines = text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l));
      expect(lines).toEqual(cli.splits[split]);
    }
    const summary = await (await get(admin, "/v1/admin/datasets/dpo/summary?sources=correction")).json();
    expect(summary).toMatchObject({ object: "dataset.summary", kind: "dpo", rows: 1, feedback: { correction: 1 } });
  });

  it("is for admin keys, and answers bad parameters precisely", async () => {
    const forbidden = await get(app, "/v1/admin/datasets/sft");
    expect(forbidden.status).toBe(403);
    await forbidden.text();
    const cases: Array<[string, string]> = [
      ["/v1/admin/datasets/sft?split=holdout", "split"],
      ["/v1/admin/datasets/sft?ratios=1", "ratios"],
      ["/v1/admin/datasets/sft?min_stars=0", "min_stars"],
      ["/v1/admin/datasets/dpo?prompt_format=xml", "prompt_format"],
      ["/v1/admin/datasets/dpo?sources=vibes", "sources"],
      ["/v1/admin/datasets/sft?redact=maybe", "redact"],
    ];
    for (const [path, param] of cases) {
      const res = await get(admin, path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as any).error, path).toMatchObject({ code: "SY_ERR_REQUEST_INVALID_QUERY", param });
    }
    const unknown = await get(admin, "/v1/admin/datasets/rlhf");
    expect(unknown.status).toBe(404);
    await unknown.text();
  });
});
