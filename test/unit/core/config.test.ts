import { describe, expect, it } from "vitest";
import {
  checkConfig,
  environmentFor,
  InputErrors,
  type VigilConfig,
} from "../../../src/core/index.js";
import { makeCatalogue, makeControl, pgServer } from "../../support/builders.js";

const catalogue = makeCatalogue(
  makeControl({
    id: "postgresql-latest-backup-fresh",
    family: "backup-age",
    parameters: {
      maxBackupAgeHours: {
        type: "integer",
        defaultValue: 26,
        description: "Oldest acceptable backup, in hours.",
      },
    },
    policyRule: {
      if: { value: "[parameters('maxBackupAgeHours')]", less: 0 },
      then: { effect: "audit" },
    },
  }),
);

function problems(config: VigilConfig): string[] {
  try {
    checkConfig(config, catalogue, "vigil.config.json");
  } catch (error) {
    if (error instanceof InputErrors) return error.errors.map((e) => e.message);
    throw error;
  }
  return [];
}

describe("checkConfig", () => {
  it("accepts overrides of declared parameters", () => {
    expect(
      problems({
        parameters: { maxBackupAgeHours: 24 },
        environments: [
          {
            name: "staging",
            match: { scopes: ["sub-stg*"] },
            parameters: { maxBackupAgeHours: 48 },
          },
        ],
      }),
    ).toEqual([]);
  });

  it("names the pointer of an unknown control id, unknown parameter and wrong type", () => {
    const found = problems({
      parameters: { maxBackupAgeDays: 1 },
      controls: { "no-such-control": { enabled: false } },
      environments: [
        {
          name: "prod",
          match: { scopes: ["*"] },
          controls: { "postgresql-latest-backup-fresh": { maxBackupAgeHours: "26" } },
        },
      ],
    });

    expect(found).toEqual([
      "vigil.config.json #/parameters/maxBackupAgeDays: no control declares parameter 'maxBackupAgeDays'",
      "vigil.config.json #/controls/no-such-control: unknown control id 'no-such-control'",
      "vigil.config.json #/environments/0/controls/postgresql-latest-backup-fresh/maxBackupAgeHours: parameter 'maxBackupAgeHours' of control 'postgresql-latest-backup-fresh': expected integer, got string '26'",
    ]);
  });

  it("rejects a waiver for a control that does not exist", () => {
    const found = problems({
      waivers: [
        {
          id: "W",
          controlId: "gone-control",
          resourcePattern: "*",
          justification: "because of reasons",
          approver: "me@x",
          expires: "2027-01-01T00:00:00Z",
        },
      ],
    });

    expect(found).toEqual([
      "vigil.config.json #/waivers/0/controlId: unknown control id 'gone-control'",
    ]);
  });
});

describe("environmentFor", () => {
  const config: VigilConfig = {
    environments: [
      { name: "prod", match: { scopes: ["sub-prod-*"], tags: { environment: "prod" } } },
      { name: "staging", match: { tags: { environment: "staging" } } },
    ],
  };

  it("needs every criterion of a match to hold and takes the first match", () => {
    const tagged = (scope: string, env: string) => {
      const o = pgServer("x", {}, { scope });
      (o.document as { tags?: Record<string, string> }).tags = { environment: env };
      return o;
    };

    expect(environmentFor(config, tagged("sub-prod-1", "prod"))?.name).toBe("prod");
    expect(environmentFor(config, tagged("sub-other", "prod"))).toBeUndefined();
    expect(environmentFor(config, tagged("sub-other", "Staging"))?.name).toBe("staging");
  });

  it("reads Kubernetes labels as tags", () => {
    const ns = {
      id: "k8s://aks/_/core/Namespace/odoo",
      type: "Namespace",
      document: { metadata: { name: "odoo", labels: { environment: "staging" } } },
    };

    expect(environmentFor(config, ns)?.name).toBe("staging");
  });
});
