import { describe, expect, it } from "vitest";
import { controlValidator } from "../../../src/app/index.js";
import { buildCatalogue, checkParameterValue, InputErrors } from "../../../src/core/index.js";
import { makeControl } from "../../support/builders.js";

function loadErrors(...data: unknown[]): string[] {
  try {
    buildCatalogue(
      data.map((d, i) => ({ file: `policies/controls/x/c${i}/control.json`, data: d })),
      controlValidator(),
    );
  } catch (error) {
    if (error instanceof InputErrors) return error.errors.map((e) => e.message);
    throw error;
  }
  return [];
}

describe("buildCatalogue", () => {
  it("compiles a valid control", () => {
    expect(loadErrors(makeControl())).toEqual([]);
  });

  it("rejects an unknown operator naming file and pointer", () => {
    const control = makeControl({
      policyRule: {
        if: {
          allOf: [
            { field: "name", equals: "x" },
            { field: "name", equalz: "y" },
          ],
        },
        then: { effect: "audit" },
      },
    });

    const errors = loadErrors(control);

    expect(errors.join("\n")).toContain(
      "policies/controls/x/c0/control.json #/policyRule/if/allOf/1",
    );
    expect(errors.join("\n")).toContain("equalz");
  });

  it("rejects a parameter default of the wrong type", () => {
    const control = makeControl({
      parameters: {
        maxBackupAgeHours: {
          type: "integer",
          defaultValue: "26",
          description: "Oldest acceptable backup.",
        },
      },
      policyRule: {
        if: { value: "[parameters('maxBackupAgeHours')]", greater: 0 },
        then: { effect: "audit" },
      },
    });

    const errors = loadErrors(control);

    expect(errors).toEqual([
      "policies/controls/x/c0/control.json #/parameters/maxBackupAgeHours/defaultValue: default value of parameter 'maxBackupAgeHours': expected integer, got string '26'",
    ]);
  });

  it("rejects an unknown alias", () => {
    const control = makeControl({
      policyRule: {
        if: { field: "Microsoft.DBforPostgreSQL/flexibleServers/backup.nope", equals: "x" },
        then: { effect: "audit" },
      },
    });

    const errors = loadErrors(control);

    expect(errors[0]).toContain("#/policyRule/if/field");
    expect(errors[0]).toContain(
      "unknown alias 'Microsoft.DBforPostgreSQL/flexibleServers/backup.nope'",
    );
  });

  it("rejects a rule that uses an undeclared parameter", () => {
    const control = makeControl({
      policyRule: {
        if: {
          field: "properties.backup.backupRetentionDays",
          less: "[parameters('minRetentionDays')]",
        },
        then: { effect: "audit" },
      },
    });

    const errors = loadErrors(control);

    expect(errors[0]).toContain("#/policyRule/if/less");
    expect(errors[0]).toContain("parameter 'minRetentionDays' is used");
  });

  it("rejects a declared parameter the rule never uses", () => {
    const control = makeControl({
      parameters: {
        unused: { type: "string", defaultValue: "x", description: "Never read by the rule." },
      },
    });

    expect(loadErrors(control)[0]).toContain(
      "#/parameters/unused: parameter 'unused' is declared but the rule never uses it",
    );
  });

  it("rejects duplicate control ids across files", () => {
    const errors = loadErrors(makeControl(), makeControl());

    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      "c1/control.json #/id: duplicate control id 'postgresql-geo-redundant-backup-enabled' (also used by policies/controls/x/c0/control.json)",
    );
  });

  it("rejects schema violations with the pointer and what was expected", () => {
    const control = { ...makeControl(), severity: "urgent", extra: true };

    const errors = loadErrors(control);

    expect(errors).toContain(
      'policies/controls/x/c0/control.json #/severity: expected one of "critical", "high", "medium", "low"',
    );
    expect(errors).toContain("policies/controls/x/c0/control.json #: unexpected property 'extra'");
  });

  it("reports every bad file, not just the first", () => {
    const errors = loadErrors(
      { ...makeControl(), id: "a-b", severity: "x" },
      { ...makeControl({ id: "c-d" }), family: "nope" },
    );

    expect(errors.some((e) => e.includes("c0/control.json"))).toBe(true);
    expect(errors.some((e) => e.includes("c1/control.json"))).toBe(true);
  });
});

describe("checkParameterValue", () => {
  it.each([
    [{ type: "integer" as const }, 3, undefined],
    [{ type: "integer" as const }, 3.5, "expected integer, got number 3.5"],
    [{ type: "array" as const }, "a", "expected array, got string 'a'"],
    [{ type: "integer" as const, minimum: 1 }, 0, "expected at least 1, got 0"],
    [
      { type: "string" as const, allowedValues: ["a", "b"] },
      "c",
      'expected one of "a", "b", got \'c\'',
    ],
  ])("checks %j against %j", (definition, value, problem) => {
    expect(
      checkParameterValue(
        { defaultValue: null, description: "test parameter", ...definition },
        value,
      ),
    ).toBe(problem);
  });
});
