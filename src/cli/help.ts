/** Help texts of the `vigil` commands (kept in step with the README's CLI reference). */

export const CLI_HELP = `vigil — policy-and-compliance scanner for Azure and Kubernetes estates

Usage:
  vigil scan --snapshot DIR [options]     evaluate the controls over a folder of observations
  vigil scan --emulate DIR [options]      scan an emulated estate (a seed folder) end to end
  vigil scan --config FILE [options]      scan the live estate the config names
  vigil emulate DIR [--port N] [--log]    serve a seed folder as ARM, Graph, Kubernetes and TLS
  vigil verify [--store-dir DIR | --pack FILE]
                                          recompute every hash of the evidence ledger and its chain
  vigil export [--from ISO] [--to ISO] --out pack.zip
                                          evidence pack: records, snapshots, manifest of hashes
  vigil report --framework F [--format html|pdf|csv|json|oscal] [--from] [--to] [--scope]
                                          evidence report from the store
  vigil serve [--emulate DIR] [--config FILE] [--port N]
                                          the Functions app locally: sweeps, queue workers, gate,
                                          findings and evidence APIs, Event Grid and audit webhooks
  vigil gate --url URL (--scope S | --environment E)
                                          ask a running vigil's gate: 0 pass, 1 fail, 2 unknown
  vigil policies validate [PATH...]       check control files against the schema and compile them
  vigil policies test [--verbose]         run every control's fixtures
  vigil policies list [--family F] [--framework F]
  vigil policies docs [--out FILE] [--check]
                                          the controls reference (docs/controls.md) as Markdown
  vigil --version

Run 'vigil <command> --help' for a command's options.

Exit codes: 0 ok; 1 failing findings at or above --fail-on (or a fixture miss);
2 a usage or input error, or an 'error' finding at or above --fail-on (fail closed).
`;

export const POLICIES_HELP = `Usage: vigil policies <validate|test|list|docs> [options]

  validate [PATH...]   validate and compile controls (default: the bundled policies/controls);
                       PATH is a control.json file or a folder searched for control.json files.
                       Exit 0 valid, 2 invalid (every error names the file and JSON pointer).
  test                 run every control's fixtures; exit 1 on any miss.
  list                 list controls, optionally filtered by family or framework.
  docs                 the controls reference as Markdown (npm run docs writes docs/controls.md).
`;

export const POLICIES_DOCS_HELP = `Usage: vigil policies docs [--out FILE] [--check]

Write the controls reference, Markdown generated from policies/controls: every control by family
with its risk, rationale, remediation, parameters, framework requirements and fixtures.
npm run docs writes docs/controls.md with it.

  --out FILE   write to FILE (whole or not at all) instead of standard output
  --check      compare with FILE instead of writing it; exit 1 when FILE is stale
`;

export const POLICIES_VALIDATE_HELP = `Usage: vigil policies validate [PATH...]

Validates control files against policies/schema/control.schema.json and compiles their rules
(unknown operators, functions, aliases and undeclared parameters are errors). With no PATH the
bundled catalogue is checked; duplicate ids across the files are errors.

Exit codes: 0 valid, 2 invalid.
`;

export const POLICIES_TEST_HELP = `Usage: vigil policies test [--controls DIR] [--verbose]

Runs every fixture under <control>/fixtures/: each file's name starts with the status it must
produce (pass., fail., error., not_applicable.). Prints misses and a per-control table, then
'N passed, N failed'.

  --controls DIR   catalogue folder (default: the bundled policies/controls)
  --verbose        print every fixture with its finding's reason

Exit codes: 0 all fixtures pass, 1 a fixture missed, 2 the catalogue does not load.
`;

export const POLICIES_LIST_HELP = `Usage: vigil policies list [--family F] [--framework FW] [--format table|json]

  --family F       one of mfa, segmentation, backup-encryption, immutable-storage, tls,
                   backup-age, failover
  --framework FW   one of iso27001, soc2, nist80053, mcsb, cis: list controls mapped to it and
                   show their requirement ids
  --format         table (default) or json
  --controls DIR   catalogue folder (default: the bundled policies/controls)
`;

export const SCAN_HELP = `Usage: vigil scan (--snapshot DIR | --emulate DIR | --config FILE) [options]

Evaluates every control over an estate and prints the findings.

  --snapshot DIR     a folder of observation files: each *.json file holds one observation
                     { "id", "type", "document", "scope"?, "source"?, "error"?, "gaps"? } or an
                     array of them (see docs/observations.md)
  --emulate DIR      start the estate emulator on a seed folder (src/emulator/README.md) and read
                     it through the real collectors; the seed's "now" is the evaluation time
  (neither)          read the live estate the config (and VIGIL_* variables) name: subscriptions,
                     tenantId, clusters, tls.targets; credential: managed identity in Azure, else
                     DefaultAzureCredential (az login, environment, workload identity)
  --format FMT       table (default), json, csv, sarif or ocsf (OCSF 1.5.0 Detection Findings)
  --out FILE         write the output to FILE (whole or not at all) instead of stdout
  --fail-on SEV      critical, high (default), medium, low, or none (always exit 0 on findings)
  --now ISO          evaluation time (default: the seed's now, else the clock)
  --config FILE      sources, parameter overrides per environment, disabled controls, waivers
  --waivers FILE     a waiver file { "waivers": [ … ] }
  --controls DIR     catalogue folder (default: the bundled policies/controls)
  --all              table: also list passing and not-applicable findings
  --faults FILE      with --emulate: inject faults (a JSON array of fault rules, format in
                     src/emulator/README.md), replacing the seed's own
  --throttle         with --emulate: apply ARM's read throttling (250 reads, 25/s per subscription)
  --latency MIN-MAX  with --emulate: delay every API answer by MIN to MAX milliseconds
  --store            record the run in vigil's store: snapshots, one hash-chained evidence record
                     per target, findings state (local: under --store-dir, default .vigil;
                     Azure: VIGIL_STORAGE_CONNECTION_STRING or VIGIL_STORAGE_ACCOUNT_URL)
  --store-dir DIR    folder of the local store (implies --store)
  --quiet, -q        no progress lines on stderr
  --verbose          progress of every list read and endpoint probed, not only of each target

Exit codes: 0 no failing finding at or above --fail-on; 1 failing findings;
2 a usage or input error, a target that could not be collected, or an 'error' finding at or
above --fail-on (fail closed).
`;

export const EMULATE_HELP = `Usage: vigil emulate DIR [--port N] [--log] [--no-watch] [--faults FILE]
                     [--throttle] [--latency MIN-MAX]

Serves a seed folder (format: src/emulator/README.md) over HTTPS on loopback as Azure Resource
Manager, Resource Graph, Microsoft Graph and one Kubernetes API per cluster, starts its TLS
endpoints, and loads its blob/ folder into Azurite. Prints the endpoints, the static bearer
token the emulator accepts and its CA certificate, then runs until Ctrl-C. Seed files are
re-read when they change.

  --port N       port of the HTTPS server (default: a free one)
  --log          print every request the emulator answers
  --no-watch     do not re-read seed files when they change
  --faults FILE  inject faults: a JSON array of fault rules (or { "faults": [...] }), replacing
                 the seed's estate.json faults; change them later with PUT /_emulator/faults
  --throttle     apply ARM's read throttling: 250 reads per subscription, refilled 25 per second,
                 429 with Retry-After when empty
  --latency MIN-MAX  delay every API answer by MIN to MAX milliseconds
`;

export const VERIFY_HELP = `Usage: vigil verify [--store-dir DIR | --pack FILE] [--format text|json]

Reads every evidence record and snapshot of vigil's store, recomputes their SHA-256 hashes and
the chain, and reports every changed, missing, added, reordered or unreadable record and every
changed or missing snapshot by its sequence number and blob name. The store is the local one
under --store-dir (default .vigil), or the Azure Storage account named by
VIGIL_STORAGE_CONNECTION_STRING or VIGIL_STORAGE_ACCOUNT_URL. With --pack FILE it checks an
evidence pack from 'vigil export' instead, with nothing but the pack: the manifest's hash of every
file, then the chain up to the manifest's head.

Exit codes: 0 intact; 1 tampered; 2 the store or pack cannot be read.
`;
