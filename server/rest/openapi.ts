// OpenAPI 3.1 document generated from the same route table and zod schemas that validate requests.
import { STATUS_CODES } from "node:http";
import { z } from "zod";
import { PUBLIC_ID_RE } from "../core/ids";
import { routes } from "./routes";

const ErrorEnvelope = {
  type: "object",
  required: ["statusCode", "error", "message", "code"],
  properties: {
    statusCode: { type: "integer" },
    error: { type: "string" },
    message: { type: "string" },
    code: { type: "string", description: "stable upper-case code, e.g. CONTAINER_NOT_FOUND" },
    data: {},
  },
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/** Project and container ids are 24 hex (a copy's source may also be a template's name). */
function pathParamSchema(path: string, name: string): Record<string, unknown> {
  if (name !== "id" || path.endsWith("/copy") || !(path.startsWith("/projects/") || path.startsWith("/containers/"))) return { type: "string" };
  return {
    type: "string",
    pattern: PUBLIC_ID_RE.source,
    example: "6650f1c2a1b2c3d4e5f60718",
    description: "24 lowercase hex characters; an id from before the 24-hex ids still answers (an alias) for one release",
  };
}

export function openApiDocument(serverUrl = "/api/v1") {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: pathParamSchema(r.path, m[1]!) }));
    const query: unknown[] = [];
    if (r.query) {
      const qs = jsonSchema(r.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(qs.properties ?? {})) query.push({ name, in: "query", required: (qs.required ?? []).includes(name) && false, schema });
    }
    const status = r.status ?? 200;
    const errors: Record<string, unknown> = {};
    for (const code of [401, 404, 422, 429, 500, 503]) {
      errors[String(code)] = { description: STATUS_CODES[code], content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    }
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      ...(params.length || query.length
        ? { parameters: [...params, ...query, ...(r.method === "POST" ? [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 255 } }] : [])] }
        : r.method === "POST"
          ? { parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 255 } }] }
          : {}),
      ...(r.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(r.body) } } } } : {}),
      ...(r.streamBody ? { requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } } } : {}),
      responses: {
        [String(status)]: {
          description: r.message,
          content: r.download
            ? { "application/octet-stream": { schema: { type: "string", format: "binary" } } }
            : {
                "application/json": {
                  schema: { type: "object", required: ["statusCode", "message", "data"], properties: { statusCode: { type: "integer", const: status }, message: { type: "string" }, data: {} } },
                },
              },
        },
        ...errors,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Hoody API", version: "1.0.0", description: "Per-customer containers. Answers use the envelope {statusCode, message, data}; errors {statusCode, error, message, code, data}." },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "hdy_… API token" } },
      schemas: { Error: ErrorEnvelope },
    },
  };
}
