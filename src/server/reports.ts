/**
 * GET /v1/experiments/:name/report?from=&to=&alpha=: the experiment's report
 * (core/report.ts) over the calling admin's tenant's traffic, from the
 * experiment's creation (or `from`) until now (or `to`), both in ms since the
 * epoch. GET /v1/admin/usage?from=&to=&bucket=hour|day&route=: each route's
 * traffic over time (default: the last 7 days by hour). Admin keys only; every
 * number is aggregated by the database (hourly rollups).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { usageSeries } from "../core/usage.js";
import { errors } from "../errors.js";
import { experimentReport } from "../store/experiment-report.js";
import { routeUsageHours } from "../store/rollup-queries.js";
import type { Gateway } from "./gateway.js";

type Req = FastifyRequest<{ Params: { name: string }; Querystring: { from?: string; to?: string; alpha?: string } }>;

export function timeParam(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  // Digits only: Number() would also take "", "0x10" and "1e3".
  if (!/^\d{1,15}$/.test(v)) throw errors.invalidQuery(name, "milliseconds since the epoch, a whole number");
  return Number(v);
}

type UsageReq = FastifyRequest<{ Querystring: { from?: string; to?: string; bucket?: string; route?: string } }>;

export function registerReports(app: FastifyInstance, gw: Gateway): void {
  // Route usage over time (hourly rollups of all traffic) for the dashboard's charts.
  app.get("/v1/admin/usage", async (req: UsageReq) => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("read usage (admin keys only)");
    const now = Date.now();
    const to = timeParam("to", req.query.to, now + 1);
    const from = timeParam("from", req.query.from, to - 7 * 86_400_000);
    if (to <= from) throw errors.invalidQuery("to", "must be later than from");
    const bucket = req.query.bucket ?? "hour";
    if (bucket !== "hour" && bucket !== "day") throw errors.invalidQuery("bucket", "hour or day");
    await gw.recorded();
    await gw.log.flush();
    const series = usageSeries(await routeUsageHours(gw.db, p.tenant, from, to, req.query.route), bucket);
    return {
      object: "usage",
      tenant: p.tenant,
      from,
      to,
      bucket,
      routes: [...series].map(([route, points]) => ({ route, points })),
    };
  });

  app.get("/v1/experiments/:name/report", async (req: Req) => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("read experiment reports (admin keys only)");
    await gw.experiments.refresh();
    const e = gw.experiments.get(req.params.name);
    if (!e) throw errors.experimentUnknown(req.params.name);
    const from = timeParam("from", req.query.from, e.createdAt);
    const to = timeParam("to", req.query.to, Date.now() + 1);
    if (to <= from) throw errors.invalidQuery("to", "must be later than from");
    const alpha = req.query.alpha === undefined ? 0.05 : Number(req.query.alpha);
    if (!(alpha > 0 && alpha < 0.5))
      throw errors.invalidQuery("alpha", "a significance level between 0 and 0.5, e.g. 0.05");
    // Rows still queued in memory are part of the report.
    await gw.recorded();
    await gw.log.flush();
    return { object: "experiment.report", ...(await experimentReport(gw.db, e, p.tenant, { from, to, alpha })) };
  });
}
