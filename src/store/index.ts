/**
 * vigil's own store on Azure Storage (Azurite locally): the current-state table, the evidence
 * ledger, the clients, and the local Azurite starter.
 */
export {
  type ConnectStoreOptions,
  connectStore,
  STORE_NAMES,
  type StoreClients,
} from "./clients.js";
export {
  LedgerContentionError,
  LocalStoreError,
  StoreError,
} from "./errors.js";
export {
  type ApplyFindingsOptions,
  createFindingStore,
  encodeKey,
  type FindingStore,
  type ListStateOptions,
  partitionKeyOf,
  rowKeyOf,
} from "./findings.js";
export {
  type AppendResult,
  createEvidenceLedger,
  type EvidenceLedger,
  type EvidenceLedgerOptions,
  type LedgerOperationOptions,
  type StoredSnapshots,
} from "./ledger.js";
export {
  DEV_ACCOUNT_KEY,
  DEV_ACCOUNT_NAME,
  type LocalStore,
  type StartLocalStoreOptions,
  startLocalStore,
} from "./local.js";
export { createOutbox, type Outbox } from "./outbox.js";
export {
  createMessageQueue,
  decodeQueueMessage,
  encodeQueueMessage,
  MAX_QUEUE_MESSAGE_BYTES,
  type MessageQueue,
  type ReceivedMessage,
} from "./queues.js";
export {
  createRunStore,
  type Rejection,
  type RunRow,
  type RunStore,
  type RunTargetRow,
  type ScopeRow,
  type TargetOutcome,
} from "./runs.js";
