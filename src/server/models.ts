/** GET /v1/models: the routes this key may call, in OpenAI's list shape. */
import type { FastifyInstance } from "fastify";
import { errors } from "../errors.js";
import type { Gateway } from "./gateway.js";

const CREATED = Math.floor(Date.now() / 1000);

export function registerModels(app: FastifyInstance, gw: Gateway): void {
  app.get("/v1/models", async (req) => {
    const principal = await gw.auth.authenticate(req);
    return {
      object: "list",
      data: gw.auth
        .routesFor(principal)
        .map((id) => ({ id, object: "model", created: CREATED, owned_by: "switchyard" })),
    };
  });

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
    const principal = await gw.auth.authenticate(req);
    const id = req.params.id;
    if (!Object.hasOwn(gw.config.routes, id) || !gw.auth.mayUseRoute(principal, id)) {
      throw errors.unknownRoute(id);
    }
    return { id, object: "model", created: CREATED, owned_by: "switchyard" };
  });
}
