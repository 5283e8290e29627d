import { AddDomainBody, FirewallDeleteBody, FirewallPatchBody, FirewallRuleBody } from "../../core/schemas";

import { route, type Route } from "./route";

const Direction = (p: { direction: string }) => {
  const d = p.direction;
  if (d !== "ingress" && d !== "egress") throw Object.assign(new Error("direction"), { notFound: true });
  return d;
};

export const networkRoutes: Route[] = [
  // ---------------------------------------------------------------- firewall
  route({
    method: "GET",
    path: "/containers/{id}/firewall/rules",
    summary: "Firewall rules (first match wins)",
    tag: "Firewall",
    message: "Firewall rules retrieved",
    handler: ({ core, actor, params }) => core.firewall.get(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/firewall/reset",
    summary: "Reset to the template's rules",
    tag: "Firewall",
    message: "Firewall reset",
    handler: ({ core, actor, params }) => core.firewall.reset(actor, params.id),
  }),
  // Answers 200 (as the SDK types it): a repeat of an existing rule changes nothing and answers that rule with `duplicate_of`.
  route({
    method: "POST",
    path: "/containers/{id}/firewall/{direction}",
    summary: "Append a rule (direction: ingress or egress); a duplicate answers the rule it repeats",
    tag: "Firewall",
    body: FirewallRuleBody,
    invalidBodyCode: "INVALID_FIREWALL_RULE",
    message: "Firewall rule added",
    handler: ({ core, actor, params, body }) => core.firewall.add(actor, params.id, Direction(params), body),
  }),
  route({
    method: "PATCH",
    path: "/containers/{id}/firewall/{direction}",
    summary: "Set the state of the first rule matching the given fields (the SDK's toggle), or change the rule at index",
    tag: "Firewall",
    body: FirewallPatchBody,
    invalidBodyCode: "INVALID_FIREWALL_RULE",
    message: "Firewall rule updated",
    handler: ({ core, actor, params, body }) => core.firewall.toggle(actor, params.id, Direction(params), body),
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/firewall/{direction}",
    summary: "Remove the first rule matching the given fields, every match with all: true (no fields: every rule of the direction), or the rule at index",
    tag: "Firewall",
    body: FirewallDeleteBody,
    invalidBodyCode: "INVALID_FIREWALL_RULE",
    message: "Firewall rule removed",
    handler: ({ core, actor, params, body }) => core.firewall.remove(actor, params.id, Direction(params), body),
  }),

  // ---------------------------------------------------------------- custom domains
  route({
    method: "GET",
    path: "/containers/{id}/domains",
    summary: "Custom domains pointed at the container",
    tag: "Domains",
    message: "Domains retrieved",
    handler: ({ core, actor, params }) => core.domains.list(actor, params.id),
  }),
  route({
    method: "POST",
    path: "/containers/{id}/domains",
    summary: "Attach a custom domain (it must already resolve to this server; one container per name)",
    tag: "Domains",
    body: AddDomainBody,
    invalidBodyCode: "INVALID_DOMAIN",
    status: 201,
    message: "Domain attached",
    handler: ({ core, actor, params, body }) => core.domains.add(actor, params.id, body.hostname),
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/domains",
    summary: "Detach a custom domain named in the body",
    tag: "Domains",
    body: AddDomainBody,
    invalidBodyCode: "INVALID_DOMAIN",
    message: "Domain detached",
    handler: ({ core, actor, params, body }) => core.domains.remove(actor, params.id, body.hostname),
  }),
  route({
    method: "DELETE",
    path: "/containers/{id}/domains/{hostname}",
    summary: "Detach a custom domain",
    tag: "Domains",
    message: "Domain detached",
    handler: ({ core, actor, params }) => core.domains.remove(actor, params.id, params.hostname),
  }),
];
