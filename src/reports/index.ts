/** Renderers of findings: JSON, CSV, SARIF and the terminal table. */
export * from "./csv.js";
export * from "./evidence-report.js";
export * from "./html.js";
export * from "./json.js";
export * from "./ocsf.js";
export * from "./oscal.js";
export * from "./sarif.js";
export * from "./table.js";
