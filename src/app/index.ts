/** Use cases: what the CLI and the Functions handlers call. */
export * from "./errors.js";
export * from "./files.js";
export * from "./policies.js";
export * from "./scan.js";
