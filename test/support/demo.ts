/**
 * What the demo estate (estates/demo) is seeded to report: every finding that is not `pass` or
 * `not_applicable`, as the violations table of estates/demo/README.md lists them. Shared by the
 * end-to-end tests of the scan, the store and the report.
 */

/** Every finding that is not pass or not_applicable in the demo, as estates/demo/README.md lists. */
export const DEMO_NON_PASSING: [controlId: string, resourceSuffix: string, status: string][] = [
  ["entra-privileged-roles-require-mfa", "/identity/conditionalAccess/policies", "fail"],
  ["aks-entra-azure-rbac-enabled", "/managedClusters/aks-hfw-staging", "fail"],
  ["aks-local-accounts-disabled", "/managedClusters/aks-hfw-staging", "fail"],
  ["postgresql-entra-auth-only", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  [
    "traefik-dashboard-not-exposed",
    "aks-hfw-prod/traefik/traefik.io/IngressRoute/traefik-dashboard",
    "fail",
  ],
  ["aks-api-server-not-public", "/managedClusters/aks-hfw-staging", "fail"],
  ["aks-network-policy-enforced", "/managedClusters/aks-hfw-staging", "fail"],
  ["postgresql-public-network-access-disabled", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  ["storage-account-blob-public-access-disabled", "/storageAccounts/sthfwstaticprod", "fail"],
  ["storage-account-public-network-restricted", "/storageAccounts/sthfwstaticprod", "fail"],
  ["namespace-default-deny-ingress", "k8s://aks-hfw-prod/_/core/Namespace/monitoring", "fail"],
  ["namespace-default-deny-ingress", "k8s://aks-hfw-staging/_/core/Namespace/odoo-staging", "fail"],
  [
    "namespace-default-deny-ingress",
    "k8s://aks-hfw-staging/_/core/Namespace/odoo-staging-longpolling",
    "fail",
  ],
  [
    "namespace-default-deny-ingress",
    "k8s://aks-hfw-staging/_/core/Namespace/odoo-staging-worker",
    "fail",
  ],
  ["namespace-default-deny-ingress", "k8s://aks-hfw-staging/_/core/Namespace/traefik", "fail"],
  ["postgresql-data-encrypted-with-cmk", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  ["storage-account-https-only-tls12", "/storageAccounts/sthfwstaticprod", "fail"],
  ["storage-backup-account-encrypted-with-cmk", "/storageAccounts/sthfwerpbkpstg", "fail"],
  ["storage-backup-account-infrastructure-encryption", "/storageAccounts/sthfwerpbkpstg", "fail"],
  ["postgresql-geo-redundant-backup-enabled", "/flexibleServers/psql-hfw-odoo-staging", "waived"],
  [
    "storage-backup-container-immutable",
    "/sthfwerpbkpstg/blobServices/default/containers/pg-dumps",
    "fail",
  ],
  [
    "storage-backup-container-immutable",
    "/sthfwerpbkpprod/blobServices/default/containers/filestore-backups",
    "fail",
  ],
  [
    "storage-backup-account-container-soft-delete-enabled",
    "/storageAccounts/sthfwerpbkpprod",
    "fail",
  ],
  ["storage-backup-account-blob-soft-delete-enabled", "/storageAccounts/sthfwerpbkpstg", "error"],
  [
    "storage-backup-account-container-soft-delete-enabled",
    "/storageAccounts/sthfwerpbkpstg",
    "error",
  ],
  ["storage-backup-account-versioning-enabled", "/storageAccounts/sthfwerpbkpstg", "error"],
  [
    "ingress-traefik-router-tls",
    "aks-hfw-prod/odoo-prod/networking.k8s.io/Ingress/customer-portal-legacy",
    "fail",
  ],
  ["postgresql-secure-transport-required", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  ["tls-endpoint-certificate-trusted", "tls://portal.hollinsford.example", "fail"],
  ["tls-endpoint-legacy-protocols-refused", "tls://edi.hollinsford.example", "fail"],
  ["tls-endpoint-legacy-protocols-refused", "tls://portal.hollinsford.example", "fail"],
  [
    "traefik-tls-option-min-tls12",
    "aks-hfw-prod/odoo-prod/traefik.io/IngressRoute/customer-portal",
    "fail",
  ],
  [
    "traefik-tls-option-min-tls12",
    "aks-hfw-prod/odoo-prod/traefik.io/IngressRoute/edi-api",
    "fail",
  ],
  ["postgresql-latest-backup-fresh", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  ["postgresql-restore-test-recent", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  [
    "storage-backup-container-recent-blob",
    "/sthfwerpbkpprod/blobServices/default/containers/filestore-backups",
    "fail",
  ],
  ["aks-node-pools-span-zones", "/managedClusters/aks-hfw-staging", "fail"],
  ["drill-record-objectives-met", "drill://2026-04-16-psql-hfw-odoo-prod-failover", "fail"],
  ["drill-record-objectives-met", "drill://2026-11-09-psql-hfw-odoo-staging-restore", "fail"],
  ["postgresql-failover-drill-recent", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
  ["postgresql-failover-drill-recent", "/flexibleServers/psql-hfw-odoo-prod", "fail"],
  ["postgresql-high-availability-healthy", "/flexibleServers/psql-hfw-odoo-staging", "fail"],
];

/** A resource id without its TLS port, so that expectations name the host alone. */
export function stableId(resourceId: string): string {
  return resourceId.replace(/^(tls:\/\/[^/:]+):\d+$/, "$1");
}
