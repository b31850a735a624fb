/** The Microsoft Graph collector's public surface: Conditional Access policies per tenant. */

export {
  CONDITIONAL_ACCESS_TYPE,
  conditionalAccessGaps,
  createGraphCollector,
  type GraphCollectorOptions,
} from "./collector.js";
