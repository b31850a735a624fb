/** The controls reference: generated from the catalogue, and the committed copy is current. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { documentedControls, loadCatalogue } from "../../../src/app/index.js";
import { renderControlsMarkdown } from "../../../src/reports/index.js";
import { ROOT } from "../../support/cli.js";

const catalogue = loadCatalogue();
const markdown = renderControlsMarkdown(documentedControls(catalogue));

describe("docs/controls.md", () => {
  it("is what npm run docs generates from policies/controls (run npm run docs when this fails)", () => {
    const committed = readFileSync(join(ROOT, "docs", "controls.md"), "utf8");

    expect(committed).toBe(markdown);
  });
});

describe("renderControlsMarkdown", () => {
  it("documents every control once, with its parameters, frameworks and fixtures", () => {
    for (const { control } of catalogue.controls) {
      expect(markdown.match(new RegExp(`^### ${control.id}$`, "gm"))).toHaveLength(1);
      for (const name of Object.keys(control.parameters ?? {}))
        expect(markdown).toContain(`| \`${name}\` |`);
    }
    const fresh = catalogue.controls.find((c) => c.control.id === "postgresql-latest-backup-fresh");
    expect(fresh).toBeDefined();
    const section = markdown.slice(markdown.indexOf("### postgresql-latest-backup-fresh"));
    expect(section).toMatch(/\| `maxBackupAgeHours` \| integer \| `26` \|/);
    expect(section).toMatch(/\| NIST SP 800-53 Rev\. 5 \| CP-9 \|/);
    expect(section).toMatch(/Fixtures: .*`fail\.[a-z0-9-]+\.json`/);
  });

  it("escapes table cells and orders by family, then id", () => {
    const [first] = documentedControls(catalogue);
    const control = {
      ...first!.control,
      id: "zz-test",
      family: "mfa" as const,
      parameters: {
        limit: { type: "string" as const, defaultValue: "a|b", description: "two\nlines | piped" },
      },
    };
    const out = renderControlsMarkdown([
      { ...first!, control: { ...control, id: "zz-test" } },
      { ...first!, control: { ...first!.control, id: "aa-test", family: "failover" as const } },
    ]);

    expect(out).toContain('| `limit` | string | `"a\\|b"` | two lines \\| piped |');
    expect(out.indexOf("### zz-test")).toBeLessThan(out.indexOf("### aa-test"));
  });
});
