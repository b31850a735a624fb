/**
 * Five controls of the catalogue written by hand in plain TypeScript, with the same decisions
 * (including fail-closed handling of collection errors and gaps) and a finding of the same shape:
 * the baseline the engine is measured against.
 */
import type { Finding, Observation, Status, TraceEntry } from "../src/core/index.js";

export const HANDWRITTEN_CONTROL_IDS = [
  "postgresql-geo-redundant-backup-enabled",
  "storage-account-https-only-tls12",
  "postgresql-latest-backup-fresh",
  "namespace-default-deny-ingress",
  "aks-network-policy-enforced",
];

type Tri = 0 | 1 | 2; // false, true, unknown
const F: Tri = 0;
const T: Tri = 1;
const U: Tri = 2;

const REPLICA_ROLES = ["asyncreplica", "geoasyncreplica"];
const POLICY_ENGINES = ["calico", "azure", "cilium"];
const EXCLUDED_NAMESPACES = [
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "gatekeeper-system",
  "calico-system",
  "tigera-operator",
];
const MAX_BACKUP_AGE_HOURS = 26;

interface Meta {
  id: string;
  title: string;
  severity: Finding["severity"];
  family: Finding["family"];
  frameworks: Finding["frameworks"];
}

const META: Record<string, Meta> = {
  geo: {
    id: "postgresql-geo-redundant-backup-enabled",
    title: "PostgreSQL flexible server backups are geo-redundant",
    severity: "high",
    family: "backup-encryption",
    frameworks: { iso27001: ["A.8.13"], soc2: ["A1.2"], nist80053: ["CP-9"], mcsb: ["BR-1"] },
  },
  https: {
    id: "storage-account-https-only-tls12",
    title: "Storage account accepts only HTTPS with TLS 1.2 or later",
    severity: "high",
    family: "backup-encryption",
    frameworks: { iso27001: ["A.8.24"], soc2: ["CC6.7"], nist80053: ["SC-8"], mcsb: ["DP-3"] },
  },
  fresh: {
    id: "postgresql-latest-backup-fresh",
    title: "PostgreSQL flexible server has a recent completed backup",
    severity: "critical",
    family: "backup-age",
    frameworks: { iso27001: ["A.8.13"], soc2: ["A1.2"], nist80053: ["CP-9"], mcsb: ["BR-1"] },
  },
  deny: {
    id: "namespace-default-deny-ingress",
    title: "Namespace denies ingress by default",
    severity: "high",
    family: "segmentation",
    frameworks: { iso27001: ["A.8.22"], soc2: ["CC6.6"], nist80053: ["SC-7"], mcsb: ["NS-1"] },
  },
  aks: {
    id: "aks-network-policy-enforced",
    title: "AKS cluster enforces network policies",
    severity: "high",
    family: "segmentation",
    frameworks: { iso27001: ["A.8.22"], soc2: ["CC6.6"], nist80053: ["SC-7"], mcsb: ["NS-1"] },
  },
};

// Hand-written code reads the wire JSON loosely, as a developer would.
// biome-ignore lint/suspicious/noExplicitAny: untyped wire JSON is the point of the baseline.
type Doc = Record<string, any>;

function eqCi(a: unknown, b: string): boolean {
  if (typeof a === "string") return a.toLowerCase() === b;
  if (typeof a === "boolean" || typeof a === "number") return String(a).toLowerCase() === b;
  return false;
}

function inCi(a: unknown, list: readonly string[]): boolean {
  return typeof a === "string" && list.includes(a.toLowerCase());
}

/** Gaps of an observation, lower-cased. */
function gapsOf(o: Observation): string[] | undefined {
  return o.gaps === undefined || o.gaps.length === 0
    ? undefined
    : o.gaps.map((g) => g.path.toLowerCase());
}

function within(path: string, ancestor: string): boolean {
  return (
    path === ancestor ||
    (path.startsWith(ancestor) && (path[ancestor.length] === "." || path[ancestor.length] === "["))
  );
}

/** A read of `path` (whole value) is untrustworthy when a gap lies at, above or below it. */
function gapHits(gaps: string[] | undefined, path: string): boolean {
  if (gaps === undefined) return false;
  return gaps.some((g) => within(path, g) || within(g, path));
}

/** An array at `path` cannot be enumerated when a gap lies at or above it. */
function gapAbove(gaps: string[] | undefined, path: string): boolean {
  if (gaps === undefined) return false;
  return gaps.some((g) => within(path, g));
}

function finding(
  meta: Meta,
  o: Observation,
  status: Status,
  reason: string,
  trace: TraceEntry[],
  parameters: Record<string, unknown>,
  evaluatedAt: string,
): Finding {
  return {
    controlId: meta.id,
    controlVersion: 1,
    title: meta.title,
    resourceId: o.id,
    resourceType: o.type,
    ...(o.scope !== undefined ? { scope: o.scope } : {}),
    status,
    severity: meta.severity,
    family: meta.family,
    reason,
    trace,
    parameters,
    frameworks: meta.frameworks,
    evaluatedAt,
  };
}

function statusOf(t: Tri): Status {
  return t === T ? "fail" : t === F ? "pass" : "error";
}

/** Replica check shared by the two PostgreSQL controls: T replica, F primary, U cannot tell. */
function isReplica(p: Doc | undefined, gaps: string[] | undefined): Tri {
  const a = gapHits(gaps, "properties.replica.role")
    ? U
    : inCi(p?.replica?.role, REPLICA_ROLES)
      ? T
      : F;
  if (a === T) return T;
  const b = gapHits(gaps, "properties.replicationrole")
    ? U
    : inCi(p?.replicationRole, REPLICA_ROLES)
      ? T
      : F;
  if (b === T) return T;
  return a === U || b === U ? U : F;
}

function geo(o: Observation, evaluatedAt: string): Finding {
  const m = META.geo as Meta;
  if (o.error !== undefined)
    return finding(
      m,
      o,
      "error",
      `the resource could not be collected: ${o.error.message}`,
      [],
      {},
      evaluatedAt,
    );
  const gaps = gapsOf(o);
  const p = (o.document as Doc).properties as Doc | undefined;
  const replica = isReplica(p, gaps);
  if (replica === T)
    return finding(m, o, "not_applicable", "out of scope: read replica", [], {}, evaluatedAt);
  if (replica === U)
    return finding(m, o, "error", "cannot tell whether the control applies", [], {}, evaluatedAt);
  if (gapHits(gaps, "properties.backup.georedundantbackup"))
    return finding(
      m,
      o,
      "error",
      "cannot decide: properties.backup was not collected",
      [],
      {},
      evaluatedAt,
    );
  const value = p?.backup?.geoRedundantBackup;
  const failing = !eqCi(value, "enabled");
  const trace: TraceEntry[] = [
    {
      field: "properties.backup.geoRedundantBackup",
      observed: value ?? null,
      operator: "notEquals",
      expected: "Enabled",
      result: failing,
    },
  ];
  return finding(
    m,
    o,
    failing ? "fail" : "pass",
    `properties.backup.geoRedundantBackup is '${String(value)}'; expected 'Enabled'`,
    trace,
    {},
    evaluatedAt,
  );
}

function https(o: Observation, evaluatedAt: string): Finding {
  const m = META.https as Meta;
  if (o.error !== undefined)
    return finding(
      m,
      o,
      "error",
      `the resource could not be collected: ${o.error.message}`,
      [],
      {},
      evaluatedAt,
    );
  const gaps = gapsOf(o);
  const p = (o.document as Doc).properties as Doc | undefined;
  const trace: TraceEntry[] = [];
  const https = p?.supportsHttpsTrafficOnly;
  const a: Tri = gapHits(gaps, "properties.supportshttpstrafficonly")
    ? U
    : eqCi(https, "true")
      ? F
      : T;
  trace.push({
    field: "properties.supportsHttpsTrafficOnly",
    observed: https ?? null,
    operator: "notEquals",
    expected: true,
    result: a === T,
  });
  let result = a;
  if (a !== T) {
    const tls = p?.minimumTlsVersion;
    const b: Tri = gapHits(gaps, "properties.minimumtlsversion")
      ? U
      : inCi(tls, ["tls1_2", "tls1_3"])
        ? F
        : T;
    trace.push({
      field: "properties.minimumTlsVersion",
      observed: tls ?? null,
      operator: "notIn",
      expected: ["TLS1_2", "TLS1_3"],
      result: b === T,
    });
    result = b === T ? T : a === U || b === U ? U : F;
  }
  return finding(
    m,
    o,
    statusOf(result),
    result === T
      ? "storage account accepts plain HTTP or TLS below 1.2"
      : "HTTPS only with TLS 1.2 or later",
    trace,
    {},
    evaluatedAt,
  );
}

function fresh(o: Observation, nowMs: number, evaluatedAt: string): Finding {
  const m = META.fresh as Meta;
  const params = { maxBackupAgeHours: MAX_BACKUP_AGE_HOURS };
  if (o.error !== undefined)
    return finding(
      m,
      o,
      "error",
      `the resource could not be collected: ${o.error.message}`,
      [],
      params,
      evaluatedAt,
    );
  const gaps = gapsOf(o);
  const doc = o.document as Doc;
  const replica = isReplica(doc.properties as Doc | undefined, gaps);
  if (replica === T)
    return finding(m, o, "not_applicable", "out of scope: read replica", [], params, evaluatedAt);
  if (replica === U)
    return finding(
      m,
      o,
      "error",
      "cannot tell whether the control applies",
      [],
      params,
      evaluatedAt,
    );
  if (gapAbove(gaps, "joined.backups"))
    return finding(
      m,
      o,
      "error",
      "cannot decide: joined.backups was not collected",
      [],
      params,
      evaluatedAt,
    );
  const backups = doc.joined?.backups;
  const threshold = nowMs - MAX_BACKUP_AGE_HOURS * 3_600_000;
  let min = 0;
  let max = 0;
  if (Array.isArray(backups)) {
    for (let i = 0; i < backups.length; i += 1) {
      const path = `joined.backups[${i}].properties.completedtime`;
      if (gapHits(gaps, path)) {
        max += 1;
        continue;
      }
      const completed = backups[i]?.properties?.completedTime;
      if (typeof completed === "string" && Date.parse(completed) > threshold) {
        min += 1;
        max += 1;
      }
    }
  }
  const result: Tri = min > 0 ? F : max === 0 ? T : U;
  const trace: TraceEntry[] = [
    {
      field: "joined.backups[*]",
      observed: min,
      operator: "equals",
      expected: 0,
      result: result === T,
    },
  ];
  return finding(
    m,
    o,
    statusOf(result),
    result === T
      ? `joined.backups[*] count is 0; expected a backup newer than ${MAX_BACKUP_AGE_HOURS} hours`
      : "a fresh backup exists",
    trace,
    params,
    evaluatedAt,
  );
}

function selectsAll(p: Doc): boolean {
  const sel = p?.spec?.podSelector;
  const labels = sel?.matchLabels;
  const exprs = sel?.matchExpressions;
  return (labels === undefined || labels === null) && !(Array.isArray(exprs) && exprs.length > 0);
}

function coversIngress(p: Doc): boolean {
  const types = p?.spec?.policyTypes;
  if (!Array.isArray(types) || types.length === 0) return true;
  return types.some((t) => eqCi(t, "ingress"));
}

function empty(list: unknown): boolean {
  return !Array.isArray(list) || list.length === 0;
}

function deny(o: Observation, evaluatedAt: string): Finding {
  const m = META.deny as Meta;
  const params = { excludedNamespaces: EXCLUDED_NAMESPACES };
  if (o.error !== undefined)
    return finding(
      m,
      o,
      "error",
      `the resource could not be collected: ${o.error.message}`,
      [],
      params,
      evaluatedAt,
    );
  const gaps = gapsOf(o);
  const doc = o.document as Doc;
  if (gapHits(gaps, "metadata.name"))
    return finding(
      m,
      o,
      "error",
      "cannot tell whether the control applies",
      [],
      params,
      evaluatedAt,
    );
  if (inCi(doc.metadata?.name, EXCLUDED_NAMESPACES))
    return finding(
      m,
      o,
      "not_applicable",
      "out of scope: platform namespace",
      [],
      params,
      evaluatedAt,
    );
  const trace: TraceEntry[] = [];
  // Branch A and B: the namespace's policies (no default-deny, or one that re-opens ingress).
  let ab: Tri;
  if (
    gapAbove(gaps, "joined.networkpolicies") ||
    gaps?.some((g) => g.startsWith("joined.networkpolicies["))
  ) {
    ab = U;
  } else {
    const policies = doc.joined?.networkPolicies;
    let denies = 0;
    let reopens = 0;
    if (Array.isArray(policies)) {
      for (const p of policies) {
        if (!selectsAll(p) || !coversIngress(p)) continue;
        const rules = p?.spec?.ingress;
        if (empty(rules)) denies += 1;
        else if ((rules as Doc[]).some((r) => empty(r?.from) && empty(r?.ports))) reopens += 1;
      }
    }
    ab = denies === 0 || reopens > 0 ? T : F;
    trace.push({
      field: "joined.networkPolicies[*]",
      observed: denies,
      operator: "equals",
      expected: 0,
      result: denies === 0,
    });
  }
  if (ab === T)
    return finding(
      m,
      o,
      "fail",
      "no default-deny ingress policy, or one re-opening ingress",
      trace,
      params,
      evaluatedAt,
    );
  // Branch C: the cluster does not enforce policies at all.
  let c: Tri;
  if (gapHits(gaps, "joined.cluster")) c = U;
  else {
    const cluster = doc.joined?.cluster;
    const np = cluster?.properties?.networkProfile;
    c =
      cluster?.id !== undefined &&
      cluster?.id !== null &&
      !inCi(np?.networkPolicy, POLICY_ENGINES) &&
      !eqCi(np?.networkDataplane, "cilium")
        ? T
        : F;
    trace.push({
      field: "joined.cluster.properties.networkProfile.networkPolicy",
      observed: np?.networkPolicy ?? null,
      operator: "notIn",
      expected: POLICY_ENGINES,
      result: c === T,
    });
  }
  const result: Tri = c === T ? T : ab === U || c === U ? U : F;
  return finding(
    m,
    o,
    statusOf(result),
    result === T ? "the cluster enforces no network policy" : "default-deny ingress in force",
    trace,
    params,
    evaluatedAt,
  );
}

function aks(o: Observation, evaluatedAt: string): Finding {
  const m = META.aks as Meta;
  if (o.error !== undefined)
    return finding(
      m,
      o,
      "error",
      `the resource could not be collected: ${o.error.message}`,
      [],
      {},
      evaluatedAt,
    );
  const gaps = gapsOf(o);
  const np = ((o.document as Doc).properties as Doc | undefined)?.networkProfile;
  const a: Tri = gapHits(gaps, "properties.networkprofile.networkpolicy")
    ? U
    : inCi(np?.networkPolicy, POLICY_ENGINES)
      ? F
      : T;
  const trace: TraceEntry[] = [
    {
      field: "properties.networkProfile.networkPolicy",
      observed: np?.networkPolicy ?? null,
      operator: "notIn",
      expected: POLICY_ENGINES,
      result: a === T,
    },
  ];
  let result = a;
  if (a !== F) {
    const b: Tri = gapHits(gaps, "properties.networkprofile.networkdataplane")
      ? U
      : eqCi(np?.networkDataplane, "cilium")
        ? F
        : T;
    trace.push({
      field: "properties.networkProfile.networkDataplane",
      observed: np?.networkDataplane ?? null,
      operator: "notEquals",
      expected: "cilium",
      result: b === T,
    });
    result = b === F ? F : a === U || b === U ? U : T;
  }
  return finding(
    m,
    o,
    statusOf(result),
    result === T
      ? "network policies are not enforced"
      : "a network policy engine enforces policies",
    trace,
    {},
    evaluatedAt,
  );
}

/** Evaluate the five controls over observations, as `evaluate` does for them. */
export function handwrittenEvaluate(
  observations: readonly Observation[],
  nowMs: number,
): Finding[] {
  const evaluatedAt = new Date(nowMs).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
  const out: Finding[] = [];
  for (const o of observations) {
    switch (o.type.toLowerCase()) {
      case "microsoft.dbforpostgresql/flexibleservers":
        out.push(geo(o, evaluatedAt), fresh(o, nowMs, evaluatedAt));
        break;
      case "microsoft.storage/storageaccounts":
        out.push(https(o, evaluatedAt));
        break;
      case "namespace":
        out.push(deny(o, evaluatedAt));
        break;
      case "microsoft.containerservice/managedclusters":
        out.push(aks(o, evaluatedAt));
        break;
      default:
        break;
    }
  }
  return out;
}
