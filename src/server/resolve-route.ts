/** From a request's `model` (a route name) and headers to the chain of targets that will serve it. */
import type { ChainTarget } from "../backends/chain.js";
import type { Config, RouteConfig, VariantConfig } from "../core/config/schema.js";
import { errors } from "../errors.js";
import type { Gateway } from "./gateway.js";

export interface ResolvedRoute {
  name: string;
  route: RouteConfig;
  variant: VariantConfig;
  targets: ChainTarget[];
}

/** The route's default variant, or the one named by the `x-switchyard-variant` header. */
export function pickVariant(routeName: string, route: RouteConfig, requested: string | undefined): VariantConfig {
  if (!requested) return route.variants[0] as VariantConfig;
  const v = route.variants.find((x) => x.name === requested);
  if (!v)
    throw errors.unknownVariant(
      routeName,
      requested,
      route.variants.map((x) => x.name),
    );
  return v;
}

export function resolveRoute(
  gw: Gateway,
  config: Config,
  routeName: string,
  requestedVariant: string | undefined,
): ResolvedRoute {
  // Own keys only: a client must not reach Object.prototype by naming "constructor".
  const route = Object.hasOwn(config.routes, routeName) ? config.routes[routeName] : undefined;
  if (!route) throw errors.unknownRoute(routeName);
  const variant = pickVariant(routeName, route, requestedVariant);
  const targets = [variant, ...route.fallbacks].map((t) => ({
    // The schema checked every backend reference at start.
    backend: gw.backends.get(t.backend) as NonNullable<ReturnType<typeof gw.backends.get>>,
    model: t.model,
    params: t.params,
  }));
  return { name: routeName, route, variant, targets };
}
