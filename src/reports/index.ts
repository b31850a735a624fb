/** Renderers: findings (JSON, CSV, SARIF, OCSF, table), evidence reports, the controls reference. */
export * from "./controls-doc.js";
export * from "./csv.js";
export * from "./evidence-report.js";
export * from "./html.js";
export * from "./json.js";
export * from "./ocsf.js";
export * from "./oscal.js";
export * from "./sarif.js";
export * from "./table.js";
