/**
 * Serves the browser UI (built by Vite into web/dist) from the API's own
 * process and port. The built files are read once at start into a map keyed by
 * URL path, so a request can only ever get a file that was in the build: no
 * path from the client is joined onto the file system (no traversal).
 *
 * `/` and the UI's own routes (client-side, see UI_ROUTES) answer index.html;
 * everything else (`/v1/*`, probes, metrics) is left to its own handlers.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

export interface WebUiOptions {
  /** The Vite build's output folder; default web/dist of this package. */
  root?: string;
}

/**
 * Client-side routes of web/src/router.ts: reloading or opening a link to one
 * must answer the app, not a 404. Kept as a list (not a catch-all) so a typo in
 * an API path still gets the API's JSON 404.
 */
export const UI_ROUTES = [
  "/",
  "/chat",
  "/history",
  "/history/:id",
  "/arena",
  "/admin/dashboard",
  "/admin/datasets",
  "/admin/backends",
  "/admin/keys",
  "/admin/prompts",
] as const;

// Two levels up from both src/server (tests, tsx) and dist/server (npm start).
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

// The app loads only its own scripts and styles and talks only to this origin;
// answers are Markdown rendered after sanitising, and this is the second line.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Every file of the build by its URL path (`/assets/index-3f2a.js`), or undefined when there is no build. */
export function loadBuild(root: string): Map<string, Asset> | undefined {
  let index: Buffer;
  try {
    index = readFileSync(join(root, "index.html"));
  } catch {
    return undefined;
  }
  const files = new Map<string, Asset>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const urlPath = `/${relative(root, full).split(sep).join("/")}`;
      files.set(urlPath, {
        body: readFileSync(full),
        type: CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream",
        // Vite names what it emits under assets/ by content hash: a new build is a new name.
        immutable: urlPath.startsWith("/assets/"),
      });
    }
  };
  walk(root);
  files.set("/index.html", { body: index, type: CONTENT_TYPES[".html"] as string, immutable: false });
  return files;
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Switchyard is running; its web UI was not built</h1>
<p>The API answers under <code>/v1</code>. To get the web UI, build it in the Switchyard folder with
<code>npm run build</code> (which <code>npm install</code> runs), then restart.</p>
</body></html>
`;

/**
 * Registers the UI's routes and its built files.
 * @example registerWebUi(app, gw.logger) // serves web/dist at /
 */
export function registerWebUi(
  app: FastifyInstance,
  log: { warn(obj: object, msg: string): void },
  opts: WebUiOptions = {},
): void {
  const root = opts.root ?? DEFAULT_WEB_ROOT;
  const files = loadBuild(root);
  if (!files) {
    log.warn({ root }, "the web UI was not built (no index.html): / answers a page saying so; run `npm run build`");
  }

  const send = (reply: FastifyReply, asset: Asset): FastifyReply => {
    void reply.type(asset.type).header("x-content-type-options", "nosniff");
    void reply.header("cache-control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    return reply.send(asset.body);
  };

  const index = (_req: unknown, reply: FastifyReply): FastifyReply => {
    const page = files?.get("/index.html");
    if (!page)
      return reply.code(503).type("text/html; charset=utf-8").header("cache-control", "no-store").send(NOT_BUILT_PAGE);
    void reply.header("content-security-policy", CSP).header("referrer-policy", "no-referrer");
    return send(reply, page);
  };
  for (const route of UI_ROUTES) app.get(route, index);

  for (const [path, asset] of files ?? []) {
    if (path === "/index.html") continue;
    app.get(path, (_req, reply) => send(reply, asset));
  }
}
