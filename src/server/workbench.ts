/**
 * The workbench (admin keys only), under /v1/admin/workbench: one input run
 * against several variants side by side, saved as a run that can be reopened.
 *   GET  /targets        every route's variants (ROUTE/VARIANT, backend, model, prompt) and every prompt's refs
 *   POST /runs           {targets: ["route/variant"...], prompts?: ["NAME@REF"...], messages?, variables?, title?}
 *                        → each target × each prompt (without prompts: each target with its own prompt), answered
 *                          at once; the run with outputs, latency, tokens and cost per variant (201)
 *   GET  /runs           saved runs, newest first          GET /runs/:id   one run
 * The calls use the gateway's backends (limits, breakers) but are not logged
 * as traffic: they are trials, not users' requests.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { Cancel } from "../backends/cancel.js";
import type { VariantConfig } from "../core/config/schema.js";
import { costUsd } from "../core/cost.js";
import { timeOrderedId } from "../core/ids.js";
import type { ChatMessage } from "../core/openai-types.js";
import { LATEST, parsePromptRef } from "../core/prompts/ref.js";
import { requestVariables } from "../core/prompts/request-variables.js";
import { errors, isSwitchyardError } from "../errors.js";
import { listWorkbenchRuns, loadWorkbenchRun, saveWorkbenchRun, type WorkbenchResult } from "../store/workbench.js";
import { parseBody } from "./admin-body.js";
import { applyPrompt } from "./apply-prompt.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import { actorOf } from "./prompts-admin.js";
import { ask, resolveCandidates } from "./replay-runner.js";

const BASE = "/v1/admin/workbench";
const MAX_VARIANTS = 16;

const runBody = z.strictObject({
  title: z.string().max(500).optional(),
  targets: z.array(z.string()).min(1, "name at least one ROUTE/VARIANT"),
  prompts: z.array(z.string()).optional(),
  messages: z.array(z.looseObject({ role: z.enum(["system", "user", "assistant"]), content: z.unknown() })).default([]),
  variables: z.record(z.string(), z.unknown()).default({}),
});

export function registerWorkbench(app: FastifyInstance, gw: Gateway): void {
  const admin = async (req: FastifyRequest): Promise<Principal> => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("use the workbench (admin keys only)");
    return p;
  };

  app.get(`${BASE}/targets`, async (req) => {
    await admin(req);
    await gw.prompts.refresh();
    return {
      object: "workbench.targets",
      targets: Object.entries(gw.config.routes).flatMap(([route, r]) =>
        r.variants.map((v) => ({
          target: `${route}/${v.name}`,
          backend: v.backend,
          model: v.model,
          prompt: v.prompt ?? null,
        })),
      ),
      prompts: gw.prompts.all().map((h) => ({
        name: h.stored.name,
        variables: Object.keys(h.stored.versions[h.stored.versions.length - 1]?.content.variables ?? {}),
        refs: [
          `${h.stored.name}@${LATEST}`,
          ...[...h.stored.labels.keys()].map((l) => `${h.stored.name}@${l}`),
          ...h.stored.versions.map((v) => `${h.stored.name}@${v.version}`),
        ],
      })),
    };
  });

  app.post(`${BASE}/runs`, async (req, reply) => {
    const p = await admin(req);
    const body = parseBody(runBody, req.body);
    let targets: ReturnType<typeof resolveCandidates>;
    try {
      targets = resolveCandidates(gw.config, body.targets);
    } catch (e) {
      throw errors.invalidBody("targets", (e as Error).message);
    }
    for (const [i, ref] of (body.prompts ?? []).entries()) {
      const r = parsePromptRef(ref);
      if (typeof r === "string") throw errors.invalidBody(`prompts[${i}]`, r);
    }
    const variants: { target: string; route: string; variant: VariantConfig; prompt: string | null }[] = [];
    for (const t of targets) {
      if (!body.prompts || body.prompts.length === 0)
        variants.push({ target: t.name, route: t.route, variant: t.variant, prompt: t.variant.prompt ?? null });
      else
        for (const ref of body.prompts)
          variants.push({ target: t.name, route: t.route, variant: { ...t.variant, prompt: ref }, prompt: ref });
    }
    if (variants.length > MAX_VARIANTS)
      throw errors.invalidBody("targets", `${variants.length} variants; a workbench run takes at most ${MAX_VARIANTS}`);
    const vars = requestVariables({ switchyard_variables: body.variables }, undefined);
    if (!vars.ok)
      throw errors.promptVariablesInvalid(vars.where.replace("switchyard_variables", "variables"), vars.problem);
    // Every variant's prompt and variables are checked before any is called: a bad variable is one precise 400.
    const prepared = variants.map((v) => {
      const prompted = applyPrompt(
        gw.prompts,
        v.route,
        v.variant,
        { model: v.route, messages: body.messages as ChatMessage[] },
        vars,
      );
      if (prompted.body.messages.length === 0)
        throw errors.invalidBody("messages", "give messages, or prompts whose template has some");
      return { ...v, prompted };
    });
    const id = timeOrderedId("wb_");
    const flight = gw.track();
    const cancel = new Cancel();
    const off = flight.cancel.onCancel((r) => cancel.cancel(r));
    let results: WorkbenchResult[];
    try {
      results = await Promise.all(
        prepared.map(async (v): Promise<WorkbenchResult> => {
          const a = await ask(
            { db: gw.db, config: gw.config, backends: gw.backends, prompts: gw.prompts },
            v.variant,
            v.prompted.body,
            `${id}:${v.target}:${v.prompt ?? ""}`,
            cancel,
          );
          const input = a.usage?.prompt_tokens ?? null;
          const output = a.usage?.completion_tokens ?? null;
          return {
            target: v.target,
            prompt: v.prompt,
            prompt_version: v.prompted.promptVersion,
            backend: v.variant.backend,
            model: v.variant.model,
            status: a.status,
            output: a.text,
            error: a.error,
            latency_ms: a.latencyMs,
            input_tokens: input,
            output_tokens: output,
            cost_usd: costUsd(gw.config.backends[v.variant.backend]?.prices[v.variant.model], input, output),
          };
        }),
      );
    } catch (e) {
      throw isSwitchyardError(e) ? e : errors.internal(id);
    } finally {
      off();
      flight.done();
    }
    const run = {
      id,
      tenant: p.tenant,
      created_at: Date.now(),
      actor: actorOf(p),
      title: body.title ?? null,
      input: { messages: body.messages, variables: vars.values },
      results,
    };
    await saveWorkbenchRun(gw.db, run);
    return reply.code(201).send({ object: "workbench.run", ...run });
  });

  app.get(`${BASE}/runs`, async (req) => {
    const p = await admin(req);
    const runs = await listWorkbenchRuns(gw.db, p.tenant);
    return {
      object: "list",
      data: runs.map((r) => ({
        id: r.id,
        title: r.title,
        created_at: r.created_at,
        actor: r.actor,
        variants: r.results.length,
      })),
    };
  });

  app.get(`${BASE}/runs/:id`, async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const p = await admin(req);
    const run = await loadWorkbenchRun(gw.db, p.tenant, req.params.id);
    if (!run) throw errors.workbenchUnknown(req.params.id);
    return { object: "workbench.run", ...run };
  });
}
