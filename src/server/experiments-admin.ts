/**
 * The experiments admin API (admin keys only), under /v1/admin/experiments:
 *   GET    /                      list
 *   POST   /                      create {name, route, variants:[{variant, weight}], control?, key?, status?}
 *   GET    /:name                 one, with shares and first exposures per variant
 *   PATCH  /:name                 {variants:[{variant, weight}]} new weights (few users move), and/or
 *                                 {shadow: {...} | null}
 *   POST   /:name/pause|resume|stop   stop takes {winner?}: the variant that serves from then on
 *   GET    /:name/pins            PUT /:name/pins/:user {variant}   DELETE /:name/pins/:user
 *   POST   /:name/evaluate        evaluate its staged rollout (or bandit) now and apply the decision
 *   GET    /:name/events?kind=&limit=   every change and decision, newest first (kind: a comma list)
 *   GET    /:name/shadow?limit=   shadow comparisons: a summary per candidate and the latest rows
 *   GET    /:name/assignment?user=…|session=…   the variant a unit gets now, and why
 * Every change is stored (with its event) before the answer, applies on this
 * replica at once and on the others within the registry's refresh interval.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { sharesOf } from "../core/assignment.js";
import { experimentProblems, experimentSchema, shadowSchema } from "../core/config/schema.js";
import { assign, unitOf } from "../core/experiment.js";
import {
  type Change,
  ChangeInvalid,
  ChangeRefused,
  changePin,
  changeShadow,
  changeStatus,
  changeWeights,
} from "../core/experiment-changes.js";
import { errors } from "../errors.js";
import {
  changeExperiment,
  createExperiment,
  ExperimentExists,
  ExperimentNotFound,
  experimentFromDefinition,
  exposureCounts,
  listEvents,
  RouteTaken,
  type StoredExperiment,
  VersionConflict,
} from "../store/experiments.js";
import { latestShadowResults, shadowSummary } from "../store/shadow-results.js";
import { parseBody } from "./admin-body.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";

const BASE = "/v1/admin/experiments";

const createBody = experimentSchema.extend({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "letters, digits and . _ : / - only, starting with a letter or digit")
    .max(256),
});
const patchBody = z
  .strictObject({ variants: experimentSchema.shape.variants.optional(), shadow: shadowSchema.nullable().optional() })
  .refine(
    (b) => b.variants !== undefined || b.shadow !== undefined,
    "give variants (new weights) or shadow (null to switch it off)",
  );
const stopBody = z.strictObject({ winner: z.string().optional() }).default({});
const pinBody = z.strictObject({ variant: z.string().min(1) });

type Named = FastifyRequest<{ Params: { name: string } }>;

function actorOf(p: Principal): string {
  return p.keyId ?? "anonymous-admin";
}

/** The store's refusals as HTTP errors. */
function asHttpError(e: unknown): unknown {
  if (e instanceof ExperimentNotFound) return errors.experimentUnknown(e.experiment);
  if (e instanceof ChangeInvalid) return errors.invalidBody(e.path, e.message);
  if (
    e instanceof ChangeRefused ||
    e instanceof RouteTaken ||
    e instanceof ExperimentExists ||
    e instanceof VersionConflict
  )
    return errors.experimentConflict(e.message);
  return e;
}

function present(e: StoredExperiment, exposures?: Record<string, number>) {
  const shares = sharesOf(e.allocation);
  return {
    object: "experiment",
    name: e.name,
    route: e.route,
    key: e.key,
    status: e.status,
    control: e.control,
    winner: e.winner,
    variants: e.weights.map((w) => ({
      variant: w.variant,
      weight: w.weight,
      share: (shares.get(w.variant) ?? 0) / 10_000,
      ...(exposures ? { exposed_units: exposures[w.variant] ?? 0 } : {}),
    })),
    shadow: e.shadow,
    rollout: e.rollout,
    bandit: e.bandit,
    pinned_users: e.pins.size,
    source: e.source,
    version: e.version,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

export function registerExperimentsAdmin(app: FastifyInstance, gw: Gateway): void {
  const admin = async (req: FastifyRequest): Promise<Principal> => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("manage experiments (admin keys only)");
    return p;
  };
  const known = (name: string): StoredExperiment => {
    const e = gw.experiments.get(name);
    if (!e) throw errors.experimentUnknown(name);
    return e;
  };
  const change = async (req: Named, p: Principal, make: (e: StoredExperiment) => Change) => {
    try {
      const { experiment } = await changeExperiment(gw.db, req.params.name, actorOf(p), make);
      gw.experiments.apply(experiment);
      return present(experiment);
    } catch (e) {
      throw asHttpError(e);
    }
  };

  app.get(BASE, async (req) => {
    await admin(req);
    await gw.experiments.refresh();
    return { object: "list", data: gw.experiments.all().map((e) => present(e)) };
  });

  app.post(BASE, async (req, reply) => {
    const p = await admin(req);
    const { name, ...def } = parseBody(createBody, req.body);
    const route = Object.hasOwn(gw.config.routes, def.route) ? gw.config.routes[def.route] : undefined;
    const problem = experimentProblems(def, route, gw.config.backends)[0];
    if (problem) throw errors.invalidBody(problem.path.join("."), problem.message);
    const exp = experimentFromDefinition(name, def);
    try {
      await createExperiment(gw.db, exp, actorOf(p));
    } catch (e) {
      throw asHttpError(e);
    }
    await gw.experiments.refresh();
    return reply.code(201).send(present(known(name)));
  });

  app.get(`${BASE}/:name`, async (req: Named) => {
    const p = await admin(req);
    await gw.experiments.refresh();
    const e = known(req.params.name);
    return present(e, await exposureCounts(gw.db, e.name, p.tenant));
  });

  app.patch(`${BASE}/:name`, async (req: Named) => {
    const p = await admin(req);
    const body = parseBody(patchBody, req.body);
    return change(req, p, (e) => {
      const route = gw.config.routes[e.route];
      const variants = body.variants ?? e.weights;
      const shadow = body.shadow === undefined ? e.shadow : body.shadow;
      const problem = experimentProblems(
        {
          route: e.route,
          variants,
          status: e.status,
          criteria: e.verdict.criteria,
          verdictMinRequests: e.verdict.minRequests,
          ...(shadow ? { shadow } : {}),
        },
        route,
        gw.config.backends,
      )[0];
      if (problem) throw new ChangeInvalid(problem.path.join("."), problem.message);
      const weighted = body.variants ? changeWeights(e, body.variants) : undefined;
      if (body.shadow === undefined) return weighted as Change;
      const shadowed = changeShadow(weighted?.next ?? e, body.shadow);
      return weighted
        ? { next: shadowed.next, kind: "weights+shadow", detail: { ...weighted.detail, shadow: shadowed.detail } }
        : shadowed;
    });
  });

  app.post(`${BASE}/:name/evaluate`, async (req: Named) => {
    await admin(req);
    try {
      const { kind, detail, decision, experiment } = await gw.scheduler.evaluate(req.params.name);
      if (decision) return { object: "rollout_decision", ...decision, experiment: present(experiment) };
      return { object: "bandit_update", kind, ...detail, experiment: present(experiment) };
    } catch (e) {
      throw asHttpError(e);
    }
  });

  for (const action of ["pause", "resume", "stop"] as const) {
    app.post(`${BASE}/:name/${action}`, async (req: Named) => {
      const p = await admin(req);
      const winner = action === "stop" ? parseBody(stopBody, req.body).winner : undefined;
      return change(req, p, (e) => changeStatus(e, action, winner));
    });
  }

  app.get(`${BASE}/:name/pins`, async (req: Named) => {
    await admin(req);
    await gw.experiments.refresh();
    const e = known(req.params.name);
    return { object: "list", data: [...e.pins].map(([user, variant]) => ({ user, variant })) };
  });

  app.put(`${BASE}/:name/pins/:user`, async (req: FastifyRequest<{ Params: { name: string; user: string } }>) => {
    const p = await admin(req);
    const { variant } = parseBody(pinBody, req.body);
    return change(req, p, (e) => changePin(e, req.params.user, variant));
  });

  app.delete(`${BASE}/:name/pins/:user`, async (req: FastifyRequest<{ Params: { name: string; user: string } }>) => {
    const p = await admin(req);
    return change(req, p, (e) => {
      if (!e.pins.has(req.params.user)) throw new ChangeRefused(`user '${req.params.user}' is not pinned`);
      return changePin(e, req.params.user, null);
    });
  });

  app.get(
    `${BASE}/:name/shadow`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { limit?: string } }>) => {
      const p = await admin(req);
      await gw.experiments.refresh();
      known(req.params.name);
      const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 0 || limit > 500)
        throw errors.invalidQuery("limit", "a whole number from 0 to 500");
      await gw.log.flush();
      return {
        object: "shadow_comparison",
        experiment: req.params.name,
        // Lexical similarity: ROUGE-L F1 over words and chrF (n = 6, beta = 2), both 0 to 1.
        summary: await shadowSummary(gw.db, req.params.name, p.tenant),
        latest: await latestShadowResults(gw.db, req.params.name, p.tenant, limit),
      };
    },
  );

  app.get(
    `${BASE}/:name/events`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { limit?: string; kind?: string } }>) => {
      await admin(req);
      await gw.experiments.refresh();
      known(req.params.name);
      const limit = req.query.limit === undefined ? 200 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
        throw errors.invalidQuery("limit", "a whole number from 1 to 5000");
      const kinds = req.query.kind?.split(",").filter((k) => k !== "");
      return { object: "list", data: await listEvents(gw.db, req.params.name, limit, kinds) };
    },
  );

  app.get(
    `${BASE}/:name/assignment`,
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: { user?: string; session?: string } }>) => {
      await admin(req);
      await gw.experiments.refresh();
      const e = known(req.params.name);
      const { user, session } = req.query;
      if (!user && !session) throw errors.invalidQuery("user", "give ?user=… or ?session=…");
      const unit = unitOf(user ?? null, session ?? "", true);
      const a = assign(e, unit);
      return {
        experiment: e.name,
        unit_kind: unit.kind,
        unit_id: unit.id,
        variant: a.variant,
        assigned_by: a.by,
        ...(a.bucket !== undefined ? { bucket: a.bucket } : {}),
      };
    },
  );
}
