/**
 * GET /v1/admin/datasets/:kind (sft or dpo): the rows of one split, or of all,
 * streamed as JSON Lines while they are read from the store; and
 * GET /v1/admin/datasets/:kind/summary: the counts the same export would give.
 * Admin keys only; the admin's tenant's traffic only.
 */
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { SPLITS, type Split } from "../core/dataset.js";
import { ExportOptionError, parseExportOptions } from "../core/dataset-options.js";
import { errors } from "../errors.js";
import { type ExportOptions, exportDpo, exportSft, type RowSink } from "../store/dataset-export.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";

type Query = Record<string, string | string[] | undefined>;
type Req = FastifyRequest<{ Params: { kind: string }; Querystring: Query }>;

export function registerDatasets(app: FastifyInstance, gw: Gateway): void {
  app.get("/v1/admin/datasets/:kind", async (req: Req, reply) => {
    const { kind, options } = await prepare(gw, req);
    const split = one(req.query, "split") ?? "all";
    if (split !== "all" && !(SPLITS as readonly string[]).includes(split)) {
      throw errors.invalidQuery("split", `expected ${SPLITS.join(", ")} or all, got '${split}'`);
    }
    const out = new PassThrough();
    const left = new AbortController();
    out.once("close", () => left.abort(new Error("the client left")));
    const sink: RowSink = async (s: Split, row) => {
      if (split !== "all" && s !== split) return;
      left.signal.throwIfAborted();
      if (!out.write(`${JSON.stringify(row)}\n`)) await drained(out);
    };
    const run = { ...options, signal: left.signal };
    // The status is sent before the rows: a failure while streaming ends the body early, and is logged.
    void (kind === "sft" ? exportSft(gw.db, run, sink) : exportDpo(gw.db, run, sink)).then(
      () => out.end(),
      (e: unknown) => {
        if (!left.signal.aborted) gw.logger.error({ err: e }, "dataset export failed while streaming");
        out.destroy(e as Error);
      },
    );
    const name = `${kind}-${split}-${new Date().toISOString().slice(0, 10)}.jsonl`;
    return reply
      .type("application/x-ndjson; charset=utf-8")
      .header("content-disposition", `attachment; filename="${name}"`)
      .send(out);
  });

  app.get("/v1/admin/datasets/:kind/summary", async (req: Req) => {
    const { kind, options } = await prepare(gw, req);
    const summary =
      kind === "sft" ? await exportSft(gw.db, options, () => {}) : await exportDpo(gw.db, options, () => {});
    return { object: "dataset.summary", ...summary };
  });
}

/** Resolves when the stream takes writes again, rejects when it closes first; leaves no listener behind. */
function drained(out: PassThrough): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      out.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      out.off("drain", onDrain);
      reject(new Error("the client left"));
    };
    out.once("drain", onDrain);
    out.once("close", onClose);
  });
}

async function prepare(gw: Gateway, req: Req): Promise<{ kind: "sft" | "dpo"; options: ExportOptions }> {
  const principal: Principal = await gw.auth.authenticate(req);
  if (principal.role !== "admin") throw errors.forbidden("export datasets (admin keys only)");
  const kind = req.params.kind;
  if (kind !== "sft" && kind !== "dpo") throw errors.notFound("GET", req.url);
  const q = req.query;
  let parsed: ReturnType<typeof parseExportOptions>;
  try {
    parsed = parseExportOptions(kind, {
      from: one(q, "from"),
      to: one(q, "to"),
      route: many(q, "route"),
      variant: many(q, "variant"),
      model: many(q, "model"),
      prompt: many(q, "prompt"),
      adapter: many(q, "adapter"),
      feedback: many(q, "feedback"),
      minStars: one(q, "min_stars"),
      tag: many(q, "tag"),
      language: many(q, "language"),
      split: one(q, "ratios"),
      seed: one(q, "seed"),
      system: one(q, "system"),
      sources: many(q, "sources"),
      promptFormat: one(q, "prompt_format"),
    });
  } catch (e) {
    if (e instanceof ExportOptionError) throw errors.invalidQuery(QUERY_NAME[e.option] ?? e.option, e.message);
    throw e;
  }
  // Answers of a moment ago are still queued for the store.
  await gw.recorded();
  await gw.log.flush();
  return {
    kind,
    options: {
      tenant: principal.tenant,
      ...parsed,
      dedupe: flag(q, "dedupe", true),
      useCorrections: flag(q, "corrections", true),
      redact: flag(q, "redact", false),
    },
  };
}

/** The query parameter behind each option name the parser reports. */
const QUERY_NAME: Record<string, string> = {
  split: "ratios",
  "min-stars": "min_stars",
  "prompt-format": "prompt_format",
};

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw errors.invalidQuery(name, "give it once");
  return v === "" ? undefined : v;
}

function many(q: Query, name: string): string[] | undefined {
  const v = q[name];
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

function flag(q: Query, name: string, dflt: boolean): boolean {
  const v = one(q, name);
  if (v === undefined) return dflt;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw errors.invalidQuery(name, `expected true or false, got '${v}'`);
}
