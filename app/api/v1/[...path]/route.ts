// Every /api/v1 route is dispatched by server/rest (route table, validation, envelope).
import { getCore } from "~/server/core/instance";
import { handleRest } from "~/server/rest/handler";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

const handle = (req: Request) => handleRest(getCore(), req);
export { handle as GET, handle as POST, handle as PUT, handle as PATCH, handle as DELETE };
