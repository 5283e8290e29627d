// Hostile tenants, hostile customers, hostile strangers (the "tenants are strangers" promise): every
// attack found on the running stack, reproduced against the real stack and shown to hold, each
// refusal paired with a control that proves its probe ran and would have succeeded. One topic per
// module in ./hostile/, each on a stack of its own that is made before and removed after its tests
// (a suite's hooks belong to its describe block below).
import { describe } from "vitest";

describe("a tenant's code against the kernel's shared counts, other tenants' addresses and the conntrack table (items 1, 7, 8)", async () => {
  await import("./hostile/kernel.js");
});
describe("a tenant that hides, escapes its disk quota or outlives its erasure (items 2, 3, 4, 20)", async () => {
  await import("./hostile/erase.js");
});
describe("a project token and a tenant's code that want more than was paid for (items 5, 9, 10, 11, 19)", async () => {
  await import("./hostile/customer.js");
});
describe("anonymous and cross-site clients of the web server and the router (items 6, 12, 13, 14, 15, 16)", async () => {
  await import("./hostile/web.js");
});
describe("what a tenant sees of the host, and the mounts it is given (items 17, 18)", async () => {
  await import("./hostile/mounts.js");
});
