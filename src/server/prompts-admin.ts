/**
 * The prompts admin API (admin keys only), under /v1/admin/prompts:
 *   GET  /                                 every prompt: newest version, labels
 *   GET  /:name                            its versions (author, time, message) and labels
 *   POST /:name/versions                   {variables?, template, description?, message?} → the new version (201);
 *                                          equal to the newest version → that version (200, created: false)
 *   GET  /:name/versions/:ref              one version's content (ref: a number, a label, or latest)
 *   PUT  /:name/labels/:label              {version, message?} moves the label (a move back is the rollback)
 *   GET  /:name/labels?label=              label moves, newest first
 *   GET  /:name/diff?from=&to=             unified diff between two versions (refs)
 *   POST /:name/render                     {ref?, variables?, messages?} what a request would send (a dry run)
 *   GET  /:name/export?ref=                the YAML file of a version (for git)
 *   GET  /:name/history?from=&to=          execution history per version, from the request log and feedback
 *   POST /import                           {files: [{source?, text}]} prompt YAML files, as `switchyard prompts import`
 * A change is stored, then loaded into this replica before the answer, so the
 * next request here uses it; other replicas see it within PROMPT_REFRESH_MS.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { unifiedDiff } from "../core/prompts/diff.js";
import { contentText, promptFileText } from "../core/prompts/file.js";
import { LABEL_NAME, LABEL_RULE, LATEST, PROMPT_NAME, PROMPT_NAME_RULE } from "../core/prompts/ref.js";
import { requestVariables } from "../core/prompts/request-variables.js";
import { checkPromptContent } from "../core/prompts/template.js";
import { errors } from "../errors.js";
import { promptExecutionHistory } from "../store/prompt-history.js";
import { importPromptFiles, PromptImportError } from "../store/prompt-import.js";
import {
  createVersion,
  labelHistory,
  moveLabel,
  PromptNotFound,
  PromptVersionNotFound,
  type StoredPrompt,
  type StoredVersion,
} from "../store/prompts.js";
import { parseBody } from "./admin-body.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import type { HeldPrompt } from "./prompt-registry.js";

const BASE = "/v1/admin/prompts";

const versionBody = z.looseObject({ message: z.string().max(10_000).optional() });
const labelBody = z.strictObject({ version: z.number().int().positive(), message: z.string().max(10_000).optional() });
const renderBody = z
  .strictObject({
    ref: z.string().optional(),
    variables: z.record(z.string(), z.unknown()).optional(),
    messages: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .default({});

type Named = FastifyRequest<{ Params: { name: string } }>;

export function actorOf(p: Principal): string {
  return p.keyId ?? "anonymous-admin";
}

export function presentVersion(v: StoredVersion, labels: Map<string, number>, newest: number) {
  return {
    object: "prompt.version",
    prompt: v.prompt,
    version: v.version,
    ref: `${v.prompt}@${v.version}`,
    labels: [
      ...(v.version === newest ? [LATEST] : []),
      ...[...labels].filter(([, n]) => n === v.version).map(([l]) => l),
    ],
    author: v.author,
    message: v.message,
    created_at: v.createdAt,
    content: v.content,
  };
}

function newestOf(p: StoredPrompt): number {
  return p.versions[p.versions.length - 1]?.version ?? 0;
}

export function presentPrompt(p: StoredPrompt, withVersions: boolean) {
  const newest = newestOf(p);
  const latest = p.versions[p.versions.length - 1];
  return {
    object: "prompt",
    name: p.name,
    description: latest?.content.description ?? null,
    latest_version: newest,
    labels: Object.fromEntries([[LATEST, newest], ...p.labels]),
    variables: Object.keys(latest?.content.variables ?? {}),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    ...(withVersions
      ? {
          versions: p.versions.map((v) => {
            const { content: _c, ...meta } = presentVersion(v, p.labels, newest);
            return meta;
          }),
        }
      : {}),
  };
}

/** A version by ref (number, label or latest) from memory; 404 naming what exists otherwise. */
export function versionOf(held: HeldPrompt, ref: string): StoredVersion {
  const p = held.stored;
  const newest = newestOf(p);
  let n: number | undefined;
  if (/^\d+$/.test(ref)) n = Number(ref);
  else if (ref === LATEST) n = newest;
  else n = p.labels.get(ref);
  if (n === undefined) {
    throw errors.promptUnknown(
      `Prompt '${p.name}' has no label '${ref}' (its labels: ${[LATEST, ...p.labels.keys()].join(", ")})`,
    );
  }
  const v = p.versions.find((x) => x.version === n);
  if (!v) throw errors.promptUnknown(`Prompt '${p.name}' has no version ${n} (its versions: 1 to ${newest})`);
  return v;
}

export function registerPromptsAdmin(app: FastifyInstance, gw: Gateway): void {
  const admin = async (req: FastifyRequest): Promise<Principal> => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("manage prompts (admin keys only)");
    return p;
  };
  const known = async (name: string): Promise<HeldPrompt> => {
    let held = gw.prompts.get(name);
    if (!held) {
      await gw.prompts.refresh();
      held = gw.prompts.get(name);
    }
    if (!held) throw errors.promptUnknown(`No prompt '${name}'`);
    return held;
  };

  app.post(`${BASE}/import`, async (req) => {
    const p = await admin(req);
    const body = parseBody(
      z.strictObject({
        files: z
          .array(z.strictObject({ source: z.string().optional(), text: z.string() }))
          .min(1)
          .max(1000),
      }),
      req.body,
    );
    const files = body.files.map((f, i) => ({ source: f.source ?? `files[${i}]`, text: f.text }));
    try {
      const outcomes = await importPromptFiles(gw.db, files, actorOf(p));
      for (const name of new Set(outcomes.map((o) => o.prompt))) await gw.prompts.reload(name);
      return { object: "list", data: outcomes };
    } catch (e) {
      if (e instanceof PromptImportError) {
        const i = files.findIndex((f) => f.source === e.source);
        throw errors.invalidBody(`files[${i}]`, `${e.source}: ${e.problems.join("; ")}`);
      }
      throw e;
    }
  });

  app.get(BASE, async (req) => {
    await admin(req);
    await gw.prompts.refresh();
    return { object: "list", data: gw.prompts.all().map((h) => presentPrompt(h.stored, false)) };
  });

  app.get(`${BASE}/:name`, async (req: Named) => {
    await admin(req);
    return presentPrompt((await known(req.params.name)).stored, true);
  });

  app.post(`${BASE}/:name/versions`, async (req: Named, reply) => {
    const p = await admin(req);
    const name = req.params.name;
    if (!PROMPT_NAME.test(name)) throw errors.invalidBody("name", PROMPT_NAME_RULE);
    const { message, ...raw } = parseBody(versionBody, req.body);
    const checked = checkPromptContent(raw);
    if (!checked.ok) {
      const [first, ...rest] = checked.problems;
      const more = rest.length > 0 ? `; and ${rest.map((x) => `'${x.path}': ${x.message}`).join("; ")}` : "";
      throw errors.promptTemplateInvalid(name, first?.path ?? "(body)", `${first?.message ?? "invalid"}${more}`);
    }
    const { version, created } = await createVersion(gw.db, name, checked.prompt.content, {
      author: actorOf(p),
      message: message ?? "",
      skipIfUnchanged: true,
    });
    await gw.prompts.reload(name);
    const held = await known(name);
    return reply
      .code(created ? 201 : 200)
      .send({ ...presentVersion(version, held.stored.labels, newestOf(held.stored)), created });
  });

  app.get(`${BASE}/:name/versions/:ref`, async (req: FastifyRequest<{ Params: { name: string; ref: string } }>) => {
    await admin(req);
    const held = await known(req.params.name);
    return presentVersion(versionOf(held, req.params.ref), held.stored.labels, newestOf(held.stored));
  });

  app.put(`${BASE}/:name/labels/:label`, async (req: FastifyRequest<{ Params: { name: string; label: string } }>) => {
    const p = await admin(req);
    const { name, label } = req.params;
    if (label === LATEST)
      throw errors.invalidBody("label", `'${LATEST}' always points at the newest version and cannot be moved`);
    if (!LABEL_NAME.test(label)) throw errors.invalidBody("label", LABEL_RULE);
    const body = parseBody(labelBody, req.body);
    await known(name);
    try {
      const { moved, previousVersion } = await moveLabel(gw.db, name, label, body.version, {
        actor: actorOf(p),
        message: body.message ?? "",
      });
      await gw.prompts.reload(name);
      return {
        object: "prompt.label",
        prompt: name,
        label,
        version: body.version,
        previous_version: previousVersion,
        moved,
      };
    } catch (e) {
      if (e instanceof PromptVersionNotFound)
        throw errors.promptUnknown(`Prompt '${name}' has no version ${e.version} (its versions: 1 to ${e.latest})`);
      if (e instanceof PromptNotFound) throw errors.promptUnknown(`No prompt '${name}'`);
      throw e;
    }
  });

  app.get(
    `${BASE}/:name/labels`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { label?: string } }>) => {
      await admin(req);
      await known(req.params.name);
      const events = await labelHistory(gw.db, req.params.name, req.query.label);
      return {
        object: "list",
        data: events.map((e) => ({
          label: e.label,
          version: e.version,
          previous_version: e.previousVersion,
          at: e.at,
          actor: e.actor,
          message: e.message,
        })),
      };
    },
  );

  app.get(
    `${BASE}/:name/diff`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { from?: string; to?: string } }>) => {
      await admin(req);
      const held = await known(req.params.name);
      if (!req.query.from) throw errors.invalidQuery("from", "give ?from=<version or label>&to=<version or label>");
      const a = versionOf(held, req.query.from);
      const b = versionOf(held, req.query.to ?? LATEST);
      const from = `${a.prompt}@${a.version}`;
      const to = `${b.prompt}@${b.version}`;
      return {
        object: "prompt.diff",
        from,
        to,
        diff: unifiedDiff(contentText(a.content), contentText(b.content), { from, to }),
      };
    },
  );

  app.post(`${BASE}/:name/render`, async (req: Named) => {
    await admin(req);
    const held = await known(req.params.name);
    const body = parseBody(renderBody, req.body);
    const v = versionOf(held, body.ref ?? LATEST);
    const compiled = held.compiled.get(v.version);
    if (!compiled) throw errors.promptUnknown(`Prompt '${v.prompt}' version ${v.version} does not compile`);
    const vars = requestVariables({ switchyard_variables: body.variables ?? {} }, undefined);
    if (!vars.ok) throw errors.promptVariablesInvalid(vars.where, vars.problem);
    const label = `${v.prompt}@${v.version}`;
    const problem = compiled.problemWith(vars.values);
    if (problem?.kind === "missing") throw errors.promptVariableMissing(label, problem.variable, "variables");
    if (problem?.kind === "unknown") throw errors.promptVariableUnknown(label, problem.variable, problem.declared);
    return {
      object: "prompt.rendered",
      prompt_version: label,
      messages: [...compiled.render(vars.values), ...(body.messages ?? [])],
    };
  });

  app.get(
    `${BASE}/:name/export`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { ref?: string } }>, reply) => {
      await admin(req);
      const held = await known(req.params.name);
      const v = versionOf(held, req.query.ref ?? LATEST);
      const labels = [...held.stored.labels].filter(([, n]) => n === v.version).map(([l]) => l);
      return reply
        .type("application/yaml; charset=utf-8")
        .send(promptFileText({ name: v.prompt, version: v.version, labels, content: v.content }));
    },
  );

  app.get(
    `${BASE}/:name/history`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { from?: string; to?: string } }>) => {
      const p = await admin(req);
      await known(req.params.name);
      const time = (k: "from" | "to") => {
        const v = req.query[k];
        if (v === undefined) return undefined;
        const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
        if (!Number.isFinite(t)) throw errors.invalidQuery(k, "a date (2026-11-01) or ms since the epoch");
        return t;
      };
      await gw.recorded();
      await gw.log.flush();
      const from = time("from");
      const to = time("to");
      return {
        object: "prompt.history",
        prompt: req.params.name,
        tenant: p.tenant,
        versions: await promptExecutionHistory(gw.db, req.params.name, p.tenant, {
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        }),
      };
    },
  );
}
