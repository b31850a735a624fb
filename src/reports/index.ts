/** Renderers of findings: JSON, CSV, SARIF and the terminal table. */
export * from "./csv.js";
export * from "./json.js";
export * from "./sarif.js";
export * from "./table.js";
