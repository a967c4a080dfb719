/**
 * From a request's `model` (a route name), its unit and headers to the variant
 * that serves it and the chain of targets behind that variant.
 */
import type { ChainTarget } from "../backends/chain.js";
import type { Config, RouteConfig, TargetConfig, VariantConfig } from "../core/config/schema.js";
import { type AssignedBy, assign, type Experiment, type Unit } from "../core/experiment.js";
import { errors } from "../errors.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";

export interface ResolvedRoute {
  name: string;
  route: RouteConfig;
  variant: VariantConfig;
  targets: ChainTarget[];
  /** The experiment governing the route, when there is one. */
  experiment: Experiment | null;
  assignedBy: AssignedBy;
}

function variantNamed(routeName: string, route: RouteConfig, name: string): VariantConfig {
  const v = route.variants.find((x) => x.name === name);
  if (!v)
    throw errors.unknownVariant(
      routeName,
      name,
      route.variants.map((x) => x.name),
    );
  return v;
}

/**
 * The serving variant. `requested` is the `x-switchyard-variant` header: on a
 * route running (or paused in) an experiment only an admin key may use it, so
 * an experiment's split cannot be bent by clients; elsewhere any key may.
 */
export function resolveRoute(
  gw: Gateway,
  config: Config,
  routeName: string,
  requested: string | undefined,
  principal: Principal,
  unit: Unit,
): ResolvedRoute {
  // Own keys only: a client must not reach Object.prototype by naming "constructor".
  const route = Object.hasOwn(config.routes, routeName) ? config.routes[routeName] : undefined;
  if (!route) throw errors.unknownRoute(routeName);
  const experiment = gw.experiments.forRoute(routeName) ?? null;
  let variant: VariantConfig;
  let assignedBy: AssignedBy;
  if (requested) {
    if (experiment && experiment.status !== "stopped" && principal.role !== "admin") {
      throw errors.variantOverrideForbidden(routeName, experiment.name);
    }
    variant = variantNamed(routeName, route, requested);
    assignedBy = "override";
  } else if (experiment) {
    const a = assign(experiment, unit);
    // The route was checked against the experiment when it was stored; a config edit since may have removed a variant.
    variant = route.variants.find((x) => x.name === a.variant) ?? (route.variants[0] as VariantConfig);
    assignedBy = variant.name === a.variant ? a.by : "default";
    // A variant whose breaker is open gets no experiment traffic: its users are served by control meanwhile.
    if (a.by === "hash" && variant.name !== experiment.control && breakerOpen(gw, variant)) {
      const control = route.variants.find((x) => x.name === experiment.control);
      if (control && !breakerOpen(gw, control)) {
        variant = control;
        assignedBy = "breaker";
      }
    }
  } else {
    variant = route.variants[0] as VariantConfig;
    assignedBy = "default";
  }
  const targets = targetsFor(gw, config, [variant, ...route.fallbacks], principal.tenant);
  return { name: routeName, route, variant, targets, experiment, assignedBy };
}

/**
 * The chain targets for a variant and its fallbacks. A llama-cpp target's adapter is the
 * one it names, else the one the caller's tenant maps to its backend, else none (the base).
 */
export function targetsFor(
  gw: Gateway,
  config: Config,
  chain: readonly TargetConfig[],
  tenant: string,
): ResolvedRoute["targets"] {
  const tenantAdapters = Object.hasOwn(config.tenants, tenant) ? config.tenants[tenant]?.adapters : undefined;
  return chain.map((t) => ({
    // The schema checked every backend and adapter reference at start.
    backend: gw.backends.get(t.backend) as NonNullable<ReturnType<typeof gw.backends.get>>,
    model: t.model,
    params: t.params,
    adapter:
      t.adapter ?? (tenantAdapters && Object.hasOwn(tenantAdapters, t.backend) ? tenantAdapters[t.backend] : undefined),
  }));
}

function breakerOpen(gw: Gateway, v: VariantConfig): boolean {
  return gw.backends.get(v.backend)?.breakerState === "open";
}
