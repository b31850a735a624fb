/** The ARM collector and ARM discovery: the public surface of `collectors/arm`. */

export { API_VERSIONS } from "./clients.js";
export {
  CONTAINER_TYPE,
  type CreateArmCollectorOptions,
  createArmCollector,
  type NewestBlobReader,
  POSTGRESQL_CONFIGURATIONS,
} from "./collector.js";
export {
  type AksConnection,
  type DiscoveryOptions,
  getAksCluster,
  getAksConnection,
  listAksClusters,
  listSubscriptions,
  type SubscriptionInfo,
} from "./discovery.js";
export {
  passesFilters,
  queryResourceGraph,
  TOP_LEVEL_TYPES,
  type TopLevelType,
} from "./inventory.js";
