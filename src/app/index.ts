/** Use cases: what the CLI and the Functions handlers call. */
export * from "./auth.js";
export * from "./changes.js";
export * from "./collect.js";
export * from "./deps.js";
export * from "./errors.js";
export * from "./evidence.js";
export * from "./files.js";
export * from "./findings-query.js";
export * from "./gate.js";
export * from "./notify.js";
export * from "./pack.js";
export * from "./policies.js";
export * from "./record.js";
export * from "./report.js";
export * from "./runtime.js";
export * from "./scan.js";
export * from "./sweep.js";
