/** Builders for controls, observations and catalogues used across the suites. */

import { controlValidator } from "../../src/app/index.js";
import {
  buildCatalogue,
  type Catalogue,
  type Control,
  type Observation,
} from "../../src/core/index.js";

/** A schema-valid control with overridable fields. */
export function makeControl(overrides: Partial<Control> = {}): Control {
  return {
    id: "postgresql-geo-redundant-backup-enabled",
    version: 1,
    title: "PostgreSQL flexible server backups are geo-redundant",
    description: "Backups kept only in the server's region are lost with the region.",
    family: "backup-encryption",
    severity: "high",
    appliesTo: ["Microsoft.DBforPostgreSQL/flexibleServers"],
    parameters: {},
    policyRule: {
      if: { field: "properties.backup.geoRedundantBackup", notEquals: "Enabled" },
      then: { effect: "audit" },
    },
    rationale:
      "A regional outage during a peak must not take the only copy of the ERP's backups with it.",
    remediation:
      "Create the server with geo-redundant backup: az postgres flexible-server create --geo-redundant-backup Enabled.",
    frameworks: { iso27001: ["A.8.13"], soc2: ["A1.2"], nist80053: ["CP-9"], mcsb: ["BR-1"] },
    references: [
      {
        title: "Backup and restore",
        url: "https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-backup-restore",
      },
    ],
    ...overrides,
  };
}

/** Compile controls into a catalogue through the real schema validator. */
export function makeCatalogue(...controls: Control[]): Catalogue {
  return buildCatalogue(
    controls.map((c, i) => ({ file: `test-${i}/control.json`, data: c })),
    controlValidator(),
  );
}

/** A PostgreSQL flexible server observation in the ARM wire shape. */
export function pgServer(
  name: string,
  properties: Record<string, unknown>,
  extra: Partial<Observation> = {},
): Observation {
  const id = `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-erp/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
  return {
    id,
    type: "Microsoft.DBforPostgreSQL/flexibleServers",
    scope: "00000000-0000-0000-0000-000000000001",
    document: {
      id,
      name,
      type: "Microsoft.DBforPostgreSQL/flexibleServers",
      location: "westeurope",
      properties,
    },
    ...extra,
  };
}

/** Epoch ms of an ISO date-time. */
export function at(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`bad date ${iso}`);
  return ms;
}
