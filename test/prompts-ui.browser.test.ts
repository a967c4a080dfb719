/**
 * The Prompts view in a real browser (Debian's chromium through
 * playwright-core) against a real gateway and a fake upstream with known
 * answers: the admin sees a prompt's versions and the diff between two, moves
 * the production label (the API then says so), runs one input against two
 * prompt versions × two models side by side, and reopens the saved run after
 * a reload.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "./browser.js";
import { answerArithmetic } from "./fixtures/arithmetic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let context: BrowserContext;
let page: Page;

const api = async (method: string, path: string, body?: unknown) =>
  (await fetch(`${gw.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).then((r) => r.json())) as any;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  answerArithmetic(upstream);
  gw = await startGateway({
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: {
      qa: {
        variants: [
          { name: "good", backend: "fake", model: "good" },
          { name: "bad", backend: "fake", model: "bad" },
        ],
      },
    },
  });
  await api("POST", "/v1/admin/prompts/support/versions", {
    description: "Support bot",
    variables: { product: {} },
    template: { system: "You help with {{product}}." },
    message: "first",
  });
  await api("POST", "/v1/admin/prompts/support/versions", {
    description: "Support bot",
    variables: { product: {} },
    template: { system: "You help with {{product}}, briefly." },
    message: "shorter",
  });
  await api("PUT", "/v1/admin/prompts/support/labels/production", { version: 1 });
  context = await launchBrowser();
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await context?.close();
  await gw?.shutdown();
  await upstream?.close();
});

describe("the Prompts view", () => {
  it("shows versions and a diff, and moves a label", async () => {
    await page.goto(`${gw.url}/admin/prompts`);
    const versions = page.getByRole("table", { name: "Versions" });
    await versions.getByRole("row").nth(2).waitFor();
    expect(await versions.getByRole("row").count()).toBe(3);
    expect(await versions.textContent()).toContain("shorter");
    const diff = page.getByTestId("version-diff");
    await page.waitForFunction(() => document.querySelector("[data-testid=version-diff]")?.textContent?.includes("+"));
    expect(await diff.textContent()).toContain("+  system: You help with {{product}}, briefly.");
    expect(await page.locator("[data-label=production]").textContent()).toBe("production → 1");

    const form = page.getByRole("form", { name: "Move a label" });
    await form.getByRole("combobox").selectOption("2");
    await form.getByRole("button", { name: "Move label" }).click();
    await page.waitForFunction(
      () => document.querySelector("[data-label=production]")?.textContent === "production → 2",
    );
    expect((await api("GET", "/v1/admin/prompts/support")).labels.production).toBe(2);
  });

  it("runs one input against prompt versions × models side by side, and reopens the saved run", async () => {
    const bench = page.getByRole("region", { name: "Workbench" });
    await bench.getByLabel("qa/good").check();
    await bench.getByLabel("qa/bad").check();
    await bench.getByLabel("support@1").check();
    await bench.getByLabel("support@2").check();
    await bench.getByLabel("Variables").fill("product=Switchyard");
    await bench.getByLabel("Message").fill("What is 3 plus 3?");
    await bench.getByRole("button", { name: "Run side by side" }).click();
    const results = bench.getByRole("region", { name: "Workbench results" });
    await results.getByRole("article").nth(3).waitFor();
    const articles = results.getByRole("article");
    const cards: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const a = articles.nth(i);
      cards.push([(await a.locator("h4").textContent()) ?? "", (await a.locator("pre").textContent()) ?? ""]);
    }
    expect(cards).toEqual([
      ["qa/good support@1", "6"],
      ["qa/good support@2", "6"],
      ["qa/bad support@1", "7"],
      ["qa/bad support@2", "7"],
    ]);

    await page.reload();
    const saved = page.getByRole("list", { name: "Saved runs" });
    await saved.getByRole("button", { name: "Open" }).first().click();
    await page.getByRole("region", { name: "Workbench results" }).getByRole("article").nth(3).waitFor();
    expect(await page.getByRole("region", { name: "Workbench results" }).getByRole("article").count()).toBe(4);
  });

  it("lists replay runs and shows a run's comparison report", async () => {
    const items = [1, 2, 3, 4].map((i) => ({
      messages: [{ role: "user", content: `What is ${i} plus ${i}?` }],
      reference: String(2 * i),
    }));
    await api("POST", "/v1/admin/replays", {
      id: "ui-run",
      items,
      candidates: ["qa/good", "qa/bad"],
      scorers: ["exact"],
    });
    await page.reload();
    const replays = page.getByRole("region", { name: "Replays" });
    await replays.getByText("ui-run").waitFor();
    await page.waitForFunction(() => document.body.textContent?.includes("8/8 answers"), undefined, {
      timeout: 15_000,
    });
    await replays.getByRole("button", { name: "Report" }).first().click();
    const report = replays.getByRole("article", { name: "Replay report" });
    await report.getByRole("table").nth(1).waitFor();
    const row = report.getByRole("table").nth(1).getByRole("row").filter({ hasText: "mcnemar" });
    expect((await row.getByRole("cell").allTextContents()).slice(0, 5)).toEqual([
      "qa/bad",
      "exact",
      "4",
      "1.000",
      "0.500",
    ]);
  });
});
