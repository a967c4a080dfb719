/**
 * The web UI in a real browser (Debian's chromium through playwright-core)
 * against a real gateway on loopback, real SQLite and fake upstreams (test
 * fixtures) that stream their answers word by word with a pause, so the
 * answer is seen arriving. What the test checks is what the user sees, and
 * then, through the API, that what they did was stored.
 *
 * Screenshots of the main views go to a temporary folder, or to
 * $SWITCHYARD_SCREENSHOTS (the README's are made with
 * SWITCHYARD_SCREENSHOTS=docs/screenshots npx vitest run test/web-ui.browser.test.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { launchBrowser } from "./browser.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

const SHOTS = process.env.SWITCHYARD_SCREENSHOTS
  ? resolve(process.env.SWITCHYARD_SCREENSHOTS)
  : mkdtempSync(join(tmpdir(), "switchyard-shots-"));
mkdirSync(SHOTS, { recursive: true });

// Markdown with a code block, and HTML a model could be talked into writing: it must not run.
const ANSWER =
  "To start it, run **npm start** in the project folder.\n\n```js\nconst server = await start({ port: 8400 });\n```\n\n" +
  'Then open the page. <img src="x" onerror="window.__pwned = true"> <script>window.__pwned = true</script>' +
  " See [the docs](javascript:window.__pwned=true) or [the README](https://example.org/readme).";
const SECOND_ANSWER = "The second model says: use `npm test` to check it.";

let one: FakeOpenAI;
let two: FakeOpenAI;
let gw: TestGateway;
let appKey: string;
let adminKey: string;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [one, two] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  one.fallback = { kind: "ok", content: ANSWER, chunkDelayMs: 60 };
  two.fallback = { kind: "ok", content: SECOND_ANSWER, chunkDelayMs: 60 };
  gw = await startGateway({
    auth: { required: true },
    backends: {
      first: { type: "openai", baseUrl: one.url },
      second: { type: "openai", baseUrl: two.url },
    },
    routes: {
      assistant: {
        variants: [
          { name: "house-model", backend: "first", model: "fake-model" },
          { name: "challenger", backend: "second", model: "fake-large" },
        ],
      },
      helpdesk: {
        variants: [
          { name: "house-model", backend: "first", model: "fake-model" },
          { name: "challenger", backend: "second", model: "fake-large" },
        ],
      },
    },
    tenants: { acme: { routes: "*" } },
    // Everyone gets house-model, the candidate; the report judges it against the control.
    experiments: {
      "house-trial": {
        route: "assistant",
        control: "challenger",
        variants: [
          { variant: "challenger", weight: 0 },
          { variant: "house-model", weight: 100 },
        ],
        // Every answer is also asked of the control in the background, and the two compared.
        shadow: { variants: ["challenger"], share: 1 },
        verdictMinRequests: 1,
        criteria: [
          { metric: "success_rate", op: ">=", value: 0.5 },
          { metric: "thumbs_up_rate", op: ">=", value: 0.8 },
        ],
      },
    },
  });
  appKey = (await createKey(gw.gateway.db, { tenant: "acme", role: "app", name: "browser-test" })).key;
  adminKey = (await createKey(gw.gateway.db, { tenant: "acme", role: "admin" })).key;
  await gw.gateway.keys.refresh();
  context = await launchBrowser();
  page = await context.newPage();
  // Under the test timeout (30 s): a step that waits too long fails naming its locator, not as a bare timeout.
  page.setDefaultTimeout(20_000);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await gw?.shutdown();
  await Promise.all([one?.close(), two?.close()]);
});

async function api<T>(path: string, key = appKey): Promise<T> {
  const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (res.headers.get("content-type")?.startsWith("application/json") ? res.json() : res.text()) as Promise<T>;
}

async function signIn(key: string): Promise<void> {
  await page.goto(gw.url);
  // By keyboard only: the key field, then Enter submits.
  await page.getByLabel("Switchyard key").focus();
  await page.keyboard.type(key);
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

const lastAnswer = () => page.locator("li.turn.assistant").last();

describe("the web UI in a browser", () => {
  it("refuses a wrong key with a clear message, then signs in with a right one", async () => {
    await page.goto(gw.url);
    await page.getByLabel("Switchyard key").fill("sy-this-key-does-not-exist");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Switchyard did not accept this key");
    await page.screenshot({ path: join(SHOTS, "sign-in.png") });

    await signIn(appKey);
    expect(await page.locator(".badge").textContent()).toBe("acme · app");
    // An app key sees neither admin views nor the variant switch.
    expect(await page.getByRole("link", { name: "Backends" }).count()).toBe(0);
    expect(await page.getByLabel("Reveal variants").count()).toBe(0);
  });

  it("streams the answer in, as sanitised Markdown with a highlighted code block", async () => {
    await expect.poll(() => page.getByLabel("Route").inputValue()).toBe("assistant");
    await page.getByRole("textbox", { name: "Message" }).fill("How do I start Switchyard?");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");

    // Part of the answer is on screen while the rest is still coming.
    await page.waitForFunction(() => {
      const turn = document.querySelector('li.turn.assistant[aria-busy="true"]');
      const text = turn?.querySelector(".md")?.textContent ?? "";
      return text.includes("To start it") && !text.includes("Then open the page");
    });
    expect(await page.getByRole("button", { name: "Stop" }).isVisible()).toBe(true);

    await lastAnswer().getByRole("button", { name: "Thumbs down" }).waitFor();
    const answer = lastAnswer();
    expect(await answer.locator(".md strong").textContent()).toBe("npm start");
    // The code block is highlighted: its keywords are marked up as such.
    expect(await answer.locator("pre code.language-js .hljs-keyword").allTextContents()).toEqual(["const", "await"]);
    expect(await answer.locator(".md").textContent()).toContain("Then open the page.");
    expect(await answer.locator("img, script").count()).toBe(0);
    expect(await answer.locator(".md a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))).toEqual([
      null,
      "https://example.org/readme",
    ]);
    expect(await answer.getByRole("link", { name: "the README" }).getAttribute("rel")).toBe(
      "noopener noreferrer nofollow",
    );
    expect(await page.evaluate(() => (window as { __pwned?: boolean }).__pwned)).toBeUndefined();
    // The user is not told which variant answered.
    expect(await page.locator("main").textContent()).not.toContain("house-model");
    await page.screenshot({ path: join(SHOTS, "chat.png"), fullPage: true });
  });

  it("takes a thumbs-down and a correction, and stores both on that answer", async () => {
    const answer = lastAnswer();
    await answer.getByRole("button", { name: "Thumbs down" }).click();
    await expect.poll(() => answer.getByText("Saved: thumbs down").count()).toBe(1);
    expect(await answer.getByRole("button", { name: "Thumbs down" }).getAttribute("aria-pressed")).toBe("true");

    await answer.getByRole("button", { name: "Edit as correction" }).click();
    const editor = answer.getByLabel("The answer you wanted");
    expect(await editor.inputValue()).toContain("To start it, run **npm start**");
    await editor.fill("Run `npx switchyard serve` from the folder that has switchyard.yaml.");
    await page.screenshot({ path: join(SHOTS, "feedback.png"), fullPage: true });
    await answer.getByRole("button", { name: "Save correction" }).click();
    await expect.poll(() => answer.getByText("Saved: correction").count()).toBe(1);

    const list = await api<{ data: { id: string; title: string }[] }>("/v1/conversations");
    expect(list.data.map((c) => c.title)).toEqual(["How do I start Switchyard?"]);
    const conv = await api<{ messages: { request_id: string; message: { role: string } }[] }>(
      `/v1/conversations/${list.data[0]?.id}`,
    );
    const answered = conv.messages.find((m) => m.message.role === "assistant");
    const feedback = await api<{ data: { kind: string; value: unknown }[] }>(
      `/v1/feedback?request_id=${answered?.request_id}`,
    );
    expect(Object.fromEntries(feedback.data.map((f) => [f.kind, f.value]))).toEqual({
      thumbs: "down",
      correction: "Run `npx switchyard serve` from the folder that has switchyard.yaml.",
    });
  });

  it("stops an answer on request and regenerates it", async () => {
    one.script.push({ kind: "ok", content: "word ".repeat(200).trim(), chunkDelayMs: 50 });
    await page.getByRole("textbox", { name: "Message" }).fill("Tell me a very long story");
    await page.getByRole("button", { name: "Send" }).click();
    await page.waitForFunction(() =>
      document.querySelector('li.turn.assistant[aria-busy="true"] .md')?.textContent?.includes("word"),
    );
    await page.getByRole("button", { name: "Stop" }).click();
    await lastAnswer().getByText("Stopped.").waitFor();
    const stoppedAt = (await lastAnswer().locator(".md").textContent()) ?? "";
    expect(stoppedAt.split(" ").length).toBeLessThan(200);

    await page.getByRole("button", { name: "Regenerate" }).click();
    await lastAnswer().getByRole("button", { name: "Thumbs up" }).waitFor();
    expect(await lastAnswer().locator(".md").textContent()).toContain("To start it");
    expect(await page.locator("li.turn.assistant").count()).toBe(2);
  });

  it("finds the conversation in the history, exports it and continues it", async () => {
    await page.getByRole("link", { name: "History" }).click();
    await page.getByRole("link", { name: "How do I start Switchyard?" }).waitFor();
    await page.getByLabel("Search conversations").fill("zebra");
    await page.getByText("No conversation mentions “zebra”.").waitFor();
    await page.getByLabel("Search conversations").fill("story");
    await expect.poll(() => page.locator(".snippet mark").allTextContents()).toEqual(["story"]);
    await page.screenshot({ path: join(SHOTS, "history.png"), fullPage: true });

    await page.getByRole("link", { name: "How do I start Switchyard?" }).click();
    await page.getByRole("heading", { name: "How do I start Switchyard?" }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/history\/.+/);

    // A reload of a client-side route gets the app again (the server answers index.html).
    await page.reload();
    await page.getByRole("heading", { name: "How do I start Switchyard?" }).waitFor();

    const [json] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export JSON" }).click(),
    ]);
    const exported = JSON.parse(readFileSync((await json.path()) as string, "utf8"));
    expect(exported.data[0].title).toBe("How do I start Switchyard?");
    const [md] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export Markdown" }).click(),
    ]);
    expect(md.suggestedFilename()).toMatch(/\.md$/);
    expect(readFileSync((await md.path()) as string, "utf8")).toContain("How do I start Switchyard?");

    await page.getByRole("button", { name: "Continue in chat" }).click();
    await page.getByRole("textbox", { name: "Message" }).waitFor();
    expect(await page.locator("li.turn.user").first().textContent()).toContain("How do I start Switchyard?");
    await page.getByRole("textbox", { name: "Message" }).fill("And how do I stop it?");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await lastAnswer().getByRole("button", { name: "Thumbs up" }).waitFor();
    const list = await api<{ data: { id: string; message_count: number }[] }>("/v1/conversations");
    expect(list.data).toHaveLength(1);
    const conv = await api<{ messages: { message: { content: string } }[] }>(`/v1/conversations/${list.data[0]?.id}`);
    expect(conv.messages.map((m) => m.message.content)).toContain("And how do I stop it?");
  });

  it("shows two blind answers in the arena, and the pick becomes a preference", async () => {
    await page.getByRole("link", { name: "Arena" }).click();
    await page.getByLabel("Prompt").fill("How do I check that it works?");
    await page.getByRole("button", { name: "Compare two answers" }).click();
    const b = page.getByRole("article", { name: "Answer B" });
    await b.waitFor();
    const bText = ((await b.locator(".md").textContent()) ?? "").trim();
    const aText = ((await page.getByRole("article", { name: "Answer A" }).locator(".md").textContent()) ?? "").trim();
    // One answer from each variant, in an order the user cannot know.
    expect([aText, bText].map((t) => (t.includes("The second model says") ? "second" : "first")).sort()).toEqual([
      "first",
      "second",
    ]);
    expect(await page.locator("main").textContent()).not.toMatch(/house-model|challenger/);
    await page.screenshot({ path: join(SHOTS, "arena.png"), fullPage: true });

    await page.getByRole("button", { name: "B is better" }).click();
    await page.getByText("Vote recorded: B is better.").waitFor();

    const summary = await api<{ feedback: Record<string, number>; rows: number }>(
      "/v1/admin/datasets/dpo/summary?sources=preference",
      adminKey,
    );
    expect(summary.feedback).toEqual({ preference: 1 });
    const rows = (await api<string>("/v1/admin/datasets/dpo?split=all&sources=preference", adminKey))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    // The answer the user picked is the chosen one (as Markdown source; the page shows it rendered).
    const chosen = String(rows[0].chosen[0].content);
    expect(bText.includes("The second model says")).toBe(chosen.includes("The second model says"));
  });

  it("lets an admin reveal the variant and see the backends' health", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Switchyard key").waitFor();
    await signIn(adminKey);
    expect(await page.locator(".badge").textContent()).toBe("acme · admin");
    await page.getByRole("textbox", { name: "Message" }).fill("Which model are you?");
    await page.getByRole("textbox", { name: "Message" }).press("Enter");
    await lastAnswer().getByRole("button", { name: "Thumbs up" }).waitFor();
    expect(await lastAnswer().textContent()).not.toContain("house-model");
    await page.getByLabel("Reveal variants").check();
    await expect.poll(() => lastAnswer().locator(".variant").textContent()).toBe("variant house-model · backend first");

    await page.getByRole("link", { name: "Backends" }).click();
    const rows = page.locator("tbody tr");
    await rows.first().waitFor();
    expect(await rows.allTextContents()).toEqual(["firstopenaiclosed064—", "secondopenaiclosed064—"]);
    await page.getByRole("button", { name: "Backend" }).click();
    expect(await page.locator("th").first().getAttribute("aria-sort")).toBe("descending");
    expect((await rows.allTextContents())[0]).toContain("second");
    await page.screenshot({ path: join(SHOTS, "backends.png") });
  });

  it("shows the admin the thumbs-down counted on the dashboard, and the NO-GO it causes", async () => {
    type Shadowed = {
      summary: { comparisons: number; primary_success_rate: number; candidate_success_rate: number }[];
    };
    const shadowed = () => api<Shadowed>("/v1/admin/experiments/house-trial/shadow", adminKey);
    // Shadow calls run in the background: the five chat answers so far have all been compared once this holds.
    await expect.poll(async () => (await shadowed()).summary[0]?.comparisons, { timeout: 10_000 }).toBe(5);
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.getByText("Verdict:").waitFor();
    expect(await page.locator(".verdict strong").textContent()).toBe("NO-GO");
    const criteria = await page.locator(".criteria li").allTextContents();
    expect(criteria[0]).toMatch(/^house-model: success_rate >= 0.5 — pass/);
    expect(criteria[1]).toMatch(/^house-model: thumbs_up_rate >= 0.8 — fail \(observed 0.000 to 0.79\d, n = 1\)/);
    const variants = page.getByRole("table", { name: "Variants" });
    const houseRow = variants.locator("tbody tr", { hasText: "house-model" });
    const cells = await houseRow.locator("td").allTextContents();
    expect(cells[0]).toBe("house-model");
    expect(cells[1]).toBe("100%");
    expect(cells[7]).toMatch(/^0 of 1 · 0% \(0%–79\.\d%\)$/);
    // Sorting by requests, largest first, puts the candidate (all hashed traffic) on top.
    await variants.getByRole("button", { name: "Requests" }).click();
    await variants.getByRole("button", { name: "Requests" }).click();
    expect(await variants.locator("tbody tr").first().locator("td").first().textContent()).toBe("house-model");

    const shadow = page.getByRole("table", { name: "Shadow comparison" });
    const sh = (await shadowed()).summary[0];
    // Five answers shadowed; the one the user stopped counts as a failure of the served side.
    expect(sh).toMatchObject({ comparisons: 5, primary_success_rate: 0.8, candidate_success_rate: 1 });
    const shadowCells = await shadow.locator("tbody tr td").allTextContents();
    expect(shadowCells.slice(0, 4)).toEqual(["challenger", "5", "80.0%", "100.0%"]);

    const totals = page.getByRole("table", { name: "Totals per route" });
    await totals.waitFor();
    const usage = await api<{ routes: { route: string; points: { requests: number }[] }[] }>(
      "/v1/admin/usage",
      adminKey,
    );
    const requests = usage.routes[0]?.points.reduce((n, p) => n + p.requests, 0);
    expect(await totals.locator("tbody tr td").allTextContents()).toEqual([
      "assistant",
      String(requests),
      "0",
      "0.0000",
    ]);
    // The experiment over time: every analysed request went to house-model, so its share is 100 % each hour.
    const trend = page.getByRole("table", { name: "Per variant and hour" });
    await trend.waitFor();
    const series = await api<{ variants: { variant: string; points: { t: number; requests: number }[] }[] }>(
      "/v1/experiments/house-trial/timeseries",
      adminKey,
    );
    expect(series.variants.map((v) => v.variant)).toEqual(["house-model"]);
    const trendRows = await trend
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].slice(1, 5).map((td) => td.textContent)));
    expect(trendRows).toEqual(
      (series.variants[0]?.points ?? []).map((p) => ["house-model", String(p.requests), "100.0%", "0"]),
    );
    // The latency distribution: its table holds the report's histogram, bin by bin.
    const report = await api<{ latencyHistogram: Record<string, { count: number }[]> }>(
      "/v1/experiments/house-trial/report",
      adminKey,
    );
    const distribution = page.getByRole("table", { name: "Latency distribution" });
    await distribution.waitFor();
    const counts = await distribution.locator("tbody tr td:nth-child(2)").allTextContents();
    expect(counts).toEqual((report.latencyHistogram["house-model"] ?? []).map((b) => String(b.count)));
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(await page.getByRole("img", { name: /^Latency of successful answers/ }).count()).toBe(1);
    // Share and latency of the experiment, its latency distribution, then requests and cost of the routes.
    expect(await page.locator(".chart canvas").count()).toBe(5);
    expect(await page.getByRole("img", { name: /^Traffic share per hour/ }).count()).toBe(1);
    expect(await page.getByRole("img", { name: /^Latency p50 \/ p95 per hour/ }).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, "dashboard.png"), fullPage: true });
  });

  it("lets the admin change the weights, pause, resume and stop the experiment, each on its timeline", async () => {
    const experiment = () =>
      api<{ status: string; winner: string | null; variants: { variant: string; weight: number }[] }>(
        "/v1/admin/experiments/house-trial",
        adminKey,
      );
    const status = () => page.locator("strong.status").textContent();
    expect(await status()).toBe("running");

    await page.getByLabel("Weight of challenger").fill("50");
    await page.getByLabel("Weight of house-model").fill("50");
    await page.getByRole("button", { name: "Save weights" }).click();
    await page.getByText("Weights saved").waitFor();
    expect((await experiment()).variants).toEqual([
      expect.objectContaining({ variant: "challenger", weight: 50 }),
      expect.objectContaining({ variant: "house-model", weight: 50 }),
    ]);

    await page.getByRole("button", { name: /^Pause/ }).click();
    await expect.poll(status).toBe("paused");
    expect((await experiment()).status).toBe("paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect.poll(status).toBe("running");

    await page.getByLabel("Stop and serve").selectOption("house-model");
    await page.getByRole("button", { name: "Stop experiment" }).click();
    await expect.poll(status).toBe("stopped");
    expect(await experiment()).toMatchObject({ status: "stopped", winner: "house-model" });
    await expect
      .poll(() => page.getByRole("region", { name: "Timeline" }).locator("strong.kind").allTextContents())
      .toEqual(expect.arrayContaining(["stop", "resume", "pause", "weights"]));
    const kinds = await page.getByRole("region", { name: "Timeline" }).locator("strong.kind").allTextContents();
    expect(kinds.slice(0, 4)).toEqual(["stop", "resume", "pause", "weights"]);
    await page.screenshot({ path: join(SHOTS, "experiment-controls.png"), fullPage: true });
  });

  it("creates an experiment from the dashboard, and names a variant the route does not have", async () => {
    await page.getByText("New experiment", { exact: true }).click();
    const form = page.getByRole("form", { name: "New experiment" });
    await form.getByLabel("Name").fill("helpdesk-ab");
    await form.getByLabel("Route").selectOption("helpdesk");
    await form.getByLabel("Variant 1").fill("house-model");
    await form.getByLabel("Variant 2").fill("nope");
    await form.getByRole("button", { name: "Create experiment" }).click();
    await expect.poll(() => form.getByRole("alert").textContent()).toContain("'nope'");

    await form.getByLabel("Variant 2").fill("challenger");
    await form.getByLabel("Weight 2").fill("25");
    await form.getByRole("button", { name: "Create experiment" }).click();
    await expect.poll(() => page.getByLabel("Experiment", { exact: true }).inputValue()).toBe("helpdesk-ab");
    expect(await page.locator("strong.status").textContent()).toBe("running");
    const created = await api<{ route: string; variants: { variant: string; weight: number }[] }>(
      "/v1/admin/experiments/helpdesk-ab",
      adminKey,
    );
    expect(created.route).toBe("helpdesk");
    expect(created.variants.map((v) => [v.variant, v.weight])).toEqual([
      ["house-model", 50],
      ["challenger", 25],
    ]);
  });

  it("exports datasets with filters: the correction in SFT, the arena pick in DPO", async () => {
    await page.getByRole("link", { name: "Datasets" }).click();
    await page.getByLabel("Feedback").selectOption("correction");
    await page.getByRole("button", { name: "Preview counts" }).click();
    const summary = page.getByRole("definition");
    await expect.poll(() => summary.first().textContent()).toBe("1");
    const [sft] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download JSONL" }).click(),
    ]);
    expect(sft.suggestedFilename()).toBe("sft-all.jsonl");
    const sftRows = readFileSync((await sft.path()) as string, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(sftRows).toHaveLength(1);
    // The user's correction stands in for the answer they thumbed down.
    expect(sftRows[0].messages).toEqual([
      { role: "user", content: "How do I start Switchyard?" },
      { role: "assistant", content: "Run `npx switchyard serve` from the folder that has switchyard.yaml." },
    ]);

    await page.getByLabel("Kind").selectOption("dpo");
    await page.getByLabel("correction", { exact: true }).uncheck();
    await page.getByLabel("votes", { exact: true }).uncheck();
    await page.getByRole("button", { name: "Preview counts" }).click();
    await expect.poll(() => summary.first().textContent()).toBe("1");
    expect(await summary.nth(2).textContent()).toBe("preference 1");
    await page.screenshot({ path: join(SHOTS, "datasets.png"), fullPage: true });
    const [dpo] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download JSONL" }).click(),
    ]);
    const dpoRows = readFileSync((await dpo.path()) as string, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(dpoRows.map((r) => r.source)).toEqual(["preference"]);
  });

  it("creates a key shown once, which signs in elsewhere until the admin revokes it", async () => {
    await page.getByRole("link", { name: "Keys" }).click();
    const keys = page.getByRole("table", { name: "Keys" });
    await expect
      .poll(() => keys.locator("tbody tr td:first-child").allTextContents())
      .toEqual(["(none)", "browser-test"]);
    // The admin's own key cannot be revoked from the session it signs.
    expect(await keys.locator("tbody tr", { hasText: "(none)" }).textContent()).toContain("signed in with it");

    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gw.url });
    await page.getByLabel("Name").fill("ci bot");
    await page.getByLabel("Role").selectOption("app");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByRole("region", { name: "New key" });
    await shown.waitFor();
    expect(await shown.getByRole("alert").textContent()).toContain("This is the only time the key ci bot is shown");
    const newKey = await shown.getByLabel("Key").inputValue();
    expect(newKey).toMatch(/^sy-/);
    await shown.getByRole("button", { name: "Copy" }).click();
    await shown.getByText("Copied.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(newKey);
    await page.screenshot({ path: join(SHOTS, "keys.png"), fullPage: true });
    const row = keys.locator("tbody tr", { hasText: "ci bot" });
    await expect
      .poll(() => row.locator("td").allTextContents())
      .toEqual([
        "ci bot",
        "app",
        `${newKey.slice(0, 9)}…`,
        expect.any(String),
        "none",
        "no budget",
        "active",
        "Revoke",
      ]);
    await shown.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => shown.count()).toBe(0);
    // Once dismissed, the key is nowhere on the page, and the API never gives it again.
    expect(await page.locator("body").textContent()).not.toContain(newKey);
    expect(JSON.stringify(await api("/v1/admin/keys", adminKey))).not.toContain(newKey);

    // Someone else signs in with it, in a browser of their own.
    const elsewhere = await launchBrowser();
    try {
      const theirs = await elsewhere.newPage();
      await theirs.goto(gw.url);
      await theirs.getByLabel("Switchyard key").fill(newKey);
      await theirs.getByRole("button", { name: "Sign in" }).click();
      await theirs.getByRole("button", { name: "Sign out" }).waitFor();
      expect(await theirs.locator(".badge").textContent()).toBe("acme · app");

      await row.getByRole("button", { name: "Revoke ci bot" }).click();
      await row.getByRole("button", { name: "Yes, revoke" }).click();
      await expect.poll(() => row.locator("td").nth(6).textContent()).toMatch(/^revoked /);
      // The gateway drops a revoked key from its cache (at once here; other replicas within 10 s).
      await expect
        .poll(async () => (await fetch(`${gw.url}/v1/me`, { headers: { authorization: `Bearer ${newKey}` } })).status, {
          timeout: 15_000,
        })
        .toBe(401);
      // Their next visit checks the kept key again and is refused.
      await theirs.reload();
      await theirs.getByLabel("Switchyard key").waitFor();
      expect(await theirs.getByRole("alert").textContent()).toMatch(/^Signed out: .*Invalid API key/);
    } finally {
      await elsewhere.close();
    }
  });

  it("fits a phone-width screen in every view", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ["Chat", "History", "Arena", "Dashboard", "Datasets", "Backends", "Keys"]) {
      await page.getByRole("link", { name: view, exact: true }).click();
      await page.getByRole("main").locator("section").first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, view).toBeLessThanOrEqual(0);
    }
    await page.getByRole("link", { name: "Chat", exact: true }).click();
    await page.getByRole("textbox", { name: "Message" }).waitFor();
    await page.screenshot({ path: join(SHOTS, "chat-phone.png") });
  });
});

describe("the web UI on a server that needs no keys", () => {
  let open: TestGateway;
  beforeAll(async () => {
    open = await startGateway({
      auth: { required: false },
      backends: { first: { type: "openai", baseUrl: one.url } },
      routes: { local: { variants: [{ name: "only", backend: "first", model: "fake-model" }] } },
      tenants: { home: { routes: "*" } },
    });
  });
  afterAll(() => open.shutdown());

  it("goes straight to the chat, as the first tenant's admin", async () => {
    const p = await context.newPage();
    await p.goto(open.url);
    await p.getByRole("textbox", { name: "Message" }).waitFor();
    expect(await p.locator(".badge").textContent()).toBe("home · admin");
    expect(await p.getByLabel("Route").inputValue()).toBe("local");
    await p.close();
  });
});
