/**
 * The domain model shared by every layer: observations, controls, findings, waivers, config
 * and runs (DESIGN.md "Domain model").
 */

/** The seven control families of the catalogue. */
export const FAMILIES = [
  "mfa",
  "segmentation",
  "backup-encryption",
  "immutable-storage",
  "tls",
  "backup-age",
  "failover",
] as const;
export type Family = (typeof FAMILIES)[number];

/** Severities, most severe first. */
export const SEVERITIES = ["critical", "high", "medium", "low"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity: critical 4 … low 1. */
export function severityRank(severity: Severity): number {
  return 4 - SEVERITIES.indexOf(severity);
}

/** Statuses a finding can have. A finding starts as `error`; only an evaluation makes it pass or fail. */
export const STATUSES = ["pass", "fail", "error", "waived", "not_applicable"] as const;
export type Status = (typeof STATUSES)[number];

/** The frameworks controls map to. */
export const FRAMEWORKS = ["iso27001", "soc2", "nist80053", "mcsb", "cis"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** Why an observation, or part of it, could not be collected. */
export interface CollectionFailure {
  message: string;
  code?: string;
  statusCode?: number;
  requestId?: string;
}

/** A part of a document that could not be collected. */
export interface Gap extends CollectionFailure {
  /** Path in the rule language's syntax with concrete indexes: `joined.backups`. */
  path: string;
}

/** One document about one resource, in its API's wire shape (see docs/observations.md). */
export interface Observation {
  id: string;
  type: string;
  scope?: string;
  document?: unknown;
  source?: { api?: string; apiVersion?: string; observedAt?: string };
  /** The whole observation could not be collected. */
  error?: CollectionFailure;
  /** Parts of the document that could not be collected. */
  gaps?: Gap[];
}

/** A declared control parameter. */
export interface ParameterDefinition {
  type: "string" | "integer" | "number" | "boolean" | "array" | "object";
  defaultValue: unknown;
  description: string;
  allowedValues?: unknown[];
  minimum?: number;
  maximum?: number;
}

/** A condition of the rule language (validated by the schema, compiled by the rule compiler). */
export type Condition = Record<string, unknown>;

/** A control as written in `policies/controls/<family>/<id>/control.json`. */
export interface Control {
  id: string;
  aliases?: string[];
  version: number;
  title: string;
  description: string;
  family: Family;
  severity: Severity;
  appliesTo: string[];
  appliesWhen?: Condition;
  parameters: Record<string, ParameterDefinition>;
  policyRule: { if: Condition; then: { effect: "audit" } };
  rationale: string;
  remediation: string;
  frameworks: {
    iso27001: string[];
    soc2: string[];
    nist80053: string[];
    mcsb: string[];
    cis?: string[];
  };
  references: { title: string; url: string }[];
}

/** One thing a rule read and how it compared: enough to say why a finding has its status. */
export interface TraceEntry {
  /** Concrete path read (`properties.agentPoolProfiles[1].availabilityZones`), or the counted path. */
  field?: string;
  /** Source of a `value` condition's expression, or the counted value expression. */
  value?: string;
  /** What was there (`null` with `missing: true` when absent; the count for counts). */
  observed: unknown;
  missing?: true;
  operator: string;
  expected: unknown;
  /** Whether the condition held; `"unknown"` when it could not be decided. */
  result: boolean | "unknown";
  /** The condition sits under an odd number of `not`s. */
  negated?: true;
  /** For counts: concrete paths (or indexes) of the members the `where` held for (first 20). */
  matched?: string[];
  /** Why the result is unknown. */
  note?: string;
  /**
   * Set on reads made inside a count's `where`: the member they were made for (a concrete path,
   * or the value expression and index). Such entries explain the count; the count's own entry
   * decides.
   */
  within?: string;
}

/** A waiver: an accepted, expiring exception for a control on matching resources. */
export interface Waiver {
  id: string;
  controlId: string;
  /** Glob over resource ids: `*` any run of characters; case-insensitive. */
  resourcePattern: string;
  justification: string;
  approver: string;
  expires: string;
  createdAt?: string;
  ticket?: string;
}

/** The waiver a finding was waived under, with the status it would otherwise have. */
export interface AppliedWaiver {
  id: string;
  justification: string;
  approver: string;
  expires: string;
  ticket?: string;
  statusWithoutWaiver: Status;
}

/** The result of one control on one resource. */
export interface Finding {
  controlId: string;
  controlVersion: number;
  title: string;
  resourceId: string;
  resourceType: string;
  scope?: string;
  status: Status;
  severity: Severity;
  family: Family;
  reason: string;
  trace: TraceEntry[];
  /** Effective parameter values the control ran with. */
  parameters: Record<string, unknown>;
  /** Name of the config environment whose overrides applied, if any. */
  environment?: string;
  frameworks: Control["frameworks"];
  waiver?: AppliedWaiver;
  evaluatedAt: string;
}

/** Parameter overrides for observations that match. */
export interface EnvironmentConfig {
  name: string;
  match: { scopes?: string[]; tags?: Record<string, string> };
  parameters?: Record<string, unknown>;
  controls?: Record<string, Record<string, unknown>>;
}

/** vigil's config file (`policies/schema/config.schema.json`). */
export interface VigilConfig {
  cloud?: "AzurePublicCloud" | "AzureUSGovernment" | "AzureChinaCloud";
  endpoints?: { arm?: string; graph?: string; authority?: string; blob?: string };
  tenantId?: string;
  subscriptions?: "all" | string[];
  managementGroup?: string;
  resourceGroups?: string[];
  tags?: Record<string, string>;
  resourceGraph?: boolean;
  activityLogDays?: number;
  drillRecords?: { account: string; container: string; prefix?: string };
  clusters?: {
    aksDiscovery?: boolean;
    kubeconfig?: { name: string; path?: string; context: string }[];
  };
  traefik?: TraefikConfig & { clusters?: Record<string, TraefikConfig> };
  tls?: {
    caFile?: string;
    targets?: { host: string; port: number; sni?: string; set?: string }[];
    /** Probed `host:port` → the `host:port` its sockets go to (like curl's `--connect-to`). */
    connectTo?: Record<string, string>;
  };
  parameters?: Record<string, unknown>;
  controls?: Record<string, { enabled?: boolean; parameters?: Record<string, unknown> }>;
  environments?: EnvironmentConfig[];
  waivers?: Waiver[];
}

/** Traefik's static configuration for one cluster, or for all. */
export interface TraefikConfig {
  entryPoints?: Record<string, { tls: boolean; redirectsToHttps?: boolean }>;
  allowCrossNamespace?: boolean;
}

/** One scan: one sweep, one event evaluation or one CLI run. */
export interface Run {
  id: string;
  trigger: "cli" | "timer" | "event" | "api";
  startedAt: string;
  completedAt: string;
  now: string;
  vigilVersion: string;
  controls: number;
  observations: number;
}

/** Counts over a run's findings. */
export interface Summary {
  total: number;
  byStatus: Record<Status, number>;
  failingBySeverity: Record<Severity, number>;
  errorsBySeverity: Record<Severity, number>;
  byFamily: Record<string, Record<Status, number>>;
}
