// Unit files as systemd reads them: ExecStart words quoted when they must be, `%` specifiers and
// `$` variables escaped, Environment= lines quoted, and no line break smuggled into either file.
import { describe, expect, it } from "vitest";
import type { Service } from "./services.js";
import { renderEnvFile, renderUnit } from "./systemd.js";

const svc = (over: Partial<Service>): Service => ({ name: "x", description: "X", command: "/usr/bin/node", args: [], healthy: async () => true, ...over });

describe("renderUnit", () => {
  it("quotes and escapes what systemd would otherwise split or expand", () => {
    const unit = renderUnit({ service: svc({ args: ["/srv/my app/main.ts", "100%", "$HOME", 'say "hi"', "-p", "3000"], env: { NOTE: 'a "b" 5%' } }), after: [] }, { envFile: "/e", log: "/l" });
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node "\/srv\/my app\/main\.ts" "100%%" "\$\$HOME" "say \\"hi\\"" -p 3000$/m);
    expect(unit).toMatch(/^Environment="NOTE=a \\"b\\" 5%%"$/m);
    expect(unit).not.toMatch(/^KillMode=/m);
  });

  it("refuses a line break rather than write a second directive", () => {
    expect(() => renderUnit({ service: svc({ env: { A: "x\nExecStartPre=/bin/evil" } }), after: [] })).toThrow(/line break/);
    expect(() => renderEnvFile({ HOODY_DOMAIN: "a\nb" })).toThrow(/HOODY_DOMAIN holds a line break/);
  });
});
