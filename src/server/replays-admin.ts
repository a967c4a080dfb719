/**
 * The offline evaluation admin API (admin keys only), under /v1/admin/replays:
 *   POST /                 {candidates, items? | jsonl? | from_log?: {route?, variant?, prompt?, feedback?, from?, to?, limit?},
 *                           scorers?, regex?, schema?, judge?, rubric? | rubric_prompt? (NAME@REF), concurrency?, id?} → 202, the run starts here
 *   GET  /                 runs, newest first
 *   GET  /:id              one run with its progress
 *   POST /:id/resume       sends the pairs that have no result yet (after a restart)
 *   GET  /:id/report?format=json|md|html&alpha=   the comparison between the candidates
 *   GET  /:id/results?offset=&limit=              the stored results, item by item
 * A run works in the background of the replica that took it, on the gateway's
 * own backends (their limits and breakers apply); a shutdown interrupts it,
 * and it resumes with nothing already scored sent again.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { ExportOptionError, parseExportOptions } from "../core/dataset-options.js";
import { replayHtml, replayMarkdown } from "../core/replay/compare.js";
import { parseReplayJsonl, parseReplayLine, type ReplayItem } from "../core/replay/dataset.js";
import { DETERMINISTIC_SCORERS } from "../core/replay/scorers.js";
import { errors } from "../errors.js";
import { countResults, itemsFromLog, listRuns, loadResults, loadRun, ReplayRunExists } from "../store/replay.js";
import { parseBody } from "./admin-body.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import { createReplayRun, replayComparison, runReplay } from "./replay-runner.js";

const BASE = "/v1/admin/replays";

const createBody = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)
    .optional(),
  candidates: z.array(z.string()).min(1, "name at least one candidate (ROUTE/VARIANT)"),
  items: z.array(z.unknown()).min(1).max(100_000).optional(),
  jsonl: z.string().optional(),
  from_log: z
    .strictObject({
      route: z.array(z.string()).optional(),
      variant: z.array(z.string()).optional(),
      model: z.array(z.string()).optional(),
      prompt: z.array(z.string()).optional(),
      feedback: z.array(z.string()).optional(),
      from: z.string().optional(),
      to: z.string().optional(),
      limit: z.number().int().positive().max(100_000).default(1000),
    })
    .optional(),
  scorers: z.array(z.string()).optional(),
  regex: z.string().optional(),
  schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]).optional(),
  judge: z.string().optional(),
  rubric: z.string().optional(),
  rubric_prompt: z.string().optional(),
  concurrency: z.number().int().positive().max(256).default(8),
});

type Run = FastifyRequest<{ Params: { id: string } }>;

export function registerReplaysAdmin(app: FastifyInstance, gw: Gateway): void {
  const admin = async (req: FastifyRequest): Promise<Principal> => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("run offline evaluations (admin keys only)");
    return p;
  };
  const env = () => ({ db: gw.db, config: gw.config, backends: gw.backends, prompts: gw.prompts });
  const known = async (id: string, p: Principal) => {
    const run = await loadRun(gw.db, id);
    if (!run || run.tenant !== p.tenant) throw errors.replayUnknown(id);
    return run;
  };
  const start = (id: string, concurrency: number) => {
    if (gw.replays.has(id)) return;
    const abort = new AbortController();
    const done = runReplay(env(), id, { concurrency, signal: abort.signal })
      .then(() => undefined)
      .catch((e) => gw.logger.error({ err: e, replay: id }, "replay run failed"))
      .finally(() => gw.replays.delete(id));
    gw.replays.set(id, { abort, done });
  };
  const present = async (id: string) => {
    const run = await loadRun(gw.db, id);
    if (!run) return undefined;
    const done = await countResults(gw.db, id);
    return {
      object: "replay.run",
      id: run.id,
      status: gw.replays.has(id) ? "running" : run.status,
      items: run.itemCount,
      candidates: run.candidates,
      scorers: run.scorers,
      source: run.source,
      progress: { done, total: run.itemCount * run.candidates.length },
      created_at: run.createdAt,
      updated_at: run.updatedAt,
    };
  };

  app.post(BASE, async (req, reply) => {
    const p = await admin(req);
    const body = parseBody(createBody, req.body);
    const given = [body.items, body.jsonl, body.from_log].filter((x) => x !== undefined).length;
    if (given !== 1)
      throw errors.invalidBody("items", "give exactly one of items (a list), jsonl (text) or from_log (filters)");
    let items: ReplayItem[];
    let source: Record<string, unknown>;
    if (body.items) {
      items = [];
      for (const [i, raw] of body.items.entries()) {
        const r = parseReplayLine(JSON.stringify(raw), i + 1);
        if (typeof r === "string") throw errors.invalidBody(`items[${i}]`, r.replace(/^line \d+: /, ""));
        items.push(r);
      }
      source = { api: "items" };
    } else if (body.jsonl !== undefined) {
      const r = parseReplayJsonl(body.jsonl);
      if (!r.ok) throw errors.invalidBody("jsonl", r.problems.slice(0, 5).join("; "));
      items = r.items;
      source = { api: "jsonl" };
    } else {
      const f = body.from_log as NonNullable<typeof body.from_log>;
      let filter: ReturnType<typeof parseExportOptions>["filter"];
      try {
        filter = parseExportOptions("sft", { ...f }).filter;
      } catch (e) {
        if (e instanceof ExportOptionError) throw errors.invalidBody(`from_log.${e.option}`, e.message);
        throw e;
      }
      await gw.recorded();
      await gw.log.flush();
      items = await itemsFromLog(gw.db, p.tenant, filter, f.limit);
      if (items.length === 0) throw errors.invalidBody("from_log", "no logged answers pass those filters");
      source = { log: filter, limit: f.limit };
    }
    let id: string;
    try {
      id = await createReplayRun(env(), {
        id: body.id,
        tenant: p.tenant,
        source,
        items,
        settings: {
          candidates: body.candidates,
          scorers: {
            scorers: body.scorers ?? [...DETERMINISTIC_SCORERS, ...(body.judge ? ["judge"] : [])],
            regex: body.regex,
            schema: body.schema,
            judge: body.judge,
            rubric: body.rubric,
            rubricPrompt: body.rubric_prompt,
          },
        },
      });
    } catch (e) {
      if (e instanceof ReplayRunExists) throw errors.replayConflict(e.message);
      throw errors.invalidBody("(body)", (e as Error).message);
    }
    start(id, body.concurrency);
    return reply.code(202).send(await present(id));
  });

  app.get(BASE, async (req) => {
    const p = await admin(req);
    const runs = await listRuns(gw.db, p.tenant);
    return { object: "list", data: await Promise.all(runs.map((r) => present(r.id))) };
  });

  app.get(`${BASE}/:id`, async (req: Run) => {
    const p = await admin(req);
    await known(req.params.id, p);
    return present(req.params.id);
  });

  app.post(`${BASE}/:id/resume`, async (req: FastifyRequest<{ Params: { id: string }; Body: unknown }>, reply) => {
    const p = await admin(req);
    await known(req.params.id, p);
    const { concurrency } = parseBody(
      z.strictObject({ concurrency: z.number().int().positive().max(256).default(8) }).default({ concurrency: 8 }),
      req.body,
    );
    start(req.params.id, concurrency);
    return reply.code(202).send(await present(req.params.id));
  });

  app.get(
    `${BASE}/:id/report`,
    async (
      req: FastifyRequest<{ Params: { id: string }; Querystring: { format?: string; alpha?: string } }>,
      reply,
    ) => {
      const p = await admin(req);
      await known(req.params.id, p);
      const format = req.query.format ?? "json";
      if (!["json", "md", "html"].includes(format)) throw errors.invalidQuery("format", "json, md or html");
      const alpha = req.query.alpha === undefined ? 0.05 : Number(req.query.alpha);
      if (!(alpha > 0 && alpha < 0.5)) throw errors.invalidQuery("alpha", "a significance level between 0 and 0.5");
      const r = await replayComparison(gw.db, req.params.id, alpha);
      if (format === "md") return reply.type("text/markdown; charset=utf-8").send(replayMarkdown(r));
      if (format === "html") return reply.type("text/html; charset=utf-8").send(replayHtml(r));
      return r;
    },
  );

  app.get(
    `${BASE}/:id/results`,
    async (req: FastifyRequest<{ Params: { id: string }; Querystring: { offset?: string; limit?: string } }>) => {
      const p = await admin(req);
      await known(req.params.id, p);
      const offset = Number(req.query.offset ?? 0);
      const limit = Number(req.query.limit ?? 100);
      if (!Number.isInteger(offset) || offset < 0) throw errors.invalidQuery("offset", "a whole number from 0");
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw errors.invalidQuery("limit", "a whole number from 1 to 1000");
      const all = await loadResults(gw.db, req.params.id);
      return { object: "list", total: all.length, data: all.slice(offset, offset + limit) };
    },
  );
}
