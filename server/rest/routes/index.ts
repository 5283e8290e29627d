// The REST API's route table (one module per domain), in the order the dispatcher matches and the
// OpenAPI document lists them.
import { backupRoutes } from "./backups";
import { containerRoutes } from "./containers";
import { networkRoutes } from "./network";
import { projectRoutes } from "./projects";
import type { Route } from "./route";
import { snapshotRoutes } from "./snapshots";
import { systemRoutes } from "./system";

export { route, type Method, type Route, type RouteContext, type TypedRouteContext } from "./route";

export const routes: Route[] = [...projectRoutes, ...containerRoutes, ...backupRoutes, ...snapshotRoutes, ...networkRoutes, ...systemRoutes];
