import pkg from "~/package.json";

export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({
    statusCode: 200,
    message: "ok",
    data: {
      status: "ok",
      version: pkg.version,
      uptime_s: Math.round(process.uptime()),
    },
  });
}
