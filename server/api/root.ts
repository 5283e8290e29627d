// All tRPC routers, assembled (one per domain), and the server-side caller factory.
import { backupsRouter } from "./routers/backups";
import { containersRouter } from "./routers/containers";
import { projectsRouter } from "./routers/projects";
import { scriptsRouter } from "./routers/scripts";
import { auditRouter, authRouter, dedupRouter, hostRouter, serversRouter, templatesRouter, tokensRouter } from "./routers/system";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  containers: containersRouter,
  backups: backupsRouter,
  projects: projectsRouter,
  templates: templatesRouter,
  tokens: tokensRouter,
  audit: auditRouter,
  host: hostRouter,
  servers: serversRouter,
  auth: authRouter,
  scripts: scriptsRouter,
  dedup: dedupRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
