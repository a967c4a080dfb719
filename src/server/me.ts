/**
 * GET /v1/me: who this key is (tenant and role, never the key itself), so a
 * client such as the web UI can check a key at sign-in and show admin views
 * only to admin keys. The admin endpoints still check the role themselves.
 */
import type { FastifyInstance } from "fastify";
import type { Gateway } from "./gateway.js";

export function registerMe(app: FastifyInstance, gw: Gateway): void {
  app.get("/v1/me", async (req) => {
    const p = await gw.auth.authenticate(req);
    return {
      object: "principal",
      tenant: p.tenant,
      role: p.role,
      key_id: p.keyId,
      auth_required: gw.config.auth.required,
    };
  });
}
