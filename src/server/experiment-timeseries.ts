/**
 * GET /v1/experiments/:name/timeseries?from=&to=&bucket=hour|day: per variant
 * and per bucket, the experiment's requests, their share, successes, failures
 * and latency p50 / p95 (store/experiment-timeseries.ts), over the calling
 * admin's tenant's traffic from the experiment's creation (or `from`) until now
 * (or `to`), in ms since the epoch. Admin keys only.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { errors } from "../errors.js";
import { experimentTimeseries } from "../store/experiment-timeseries.js";
import type { Gateway } from "./gateway.js";
import { timeParam } from "./reports.js";

type Req = FastifyRequest<{ Params: { name: string }; Querystring: { from?: string; to?: string; bucket?: string } }>;

export function registerExperimentTimeseries(app: FastifyInstance, gw: Gateway): void {
  app.get("/v1/experiments/:name/timeseries", async (req: Req) => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("read experiment reports (admin keys only)");
    await gw.experiments.refresh();
    const e = gw.experiments.get(req.params.name);
    if (!e) throw errors.experimentUnknown(req.params.name);
    const from = timeParam("from", req.query.from, e.createdAt);
    const to = timeParam("to", req.query.to, Date.now() + 1);
    if (to <= from) throw errors.invalidQuery("to", "must be later than from");
    const bucket = req.query.bucket ?? "hour";
    if (bucket !== "hour" && bucket !== "day") throw errors.invalidQuery("bucket", "hour or day");
    // Rows still queued in memory are part of the series.
    await gw.recorded();
    await gw.log.flush();
    const variants = await experimentTimeseries(
      gw.db,
      e,
      e.weights.map((w) => w.variant),
      p.tenant,
      { from, to, bucket },
    );
    return { object: "experiment.timeseries", experiment: e.name, tenant: p.tenant, from, to, bucket, variants };
  });
}
