/** Use cases: what the CLI and the Functions handlers call. */
export * from "./collect.js";
export * from "./deps.js";
export * from "./errors.js";
export * from "./files.js";
export * from "./pack.js";
export * from "./policies.js";
export * from "./record.js";
export * from "./report.js";
export * from "./scan.js";
