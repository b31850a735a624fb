/** The blob reader's public surface: newest blob of a container, and validated drill records. */

export {
  type BlobReader,
  type BlobReaderOptions,
  type BlobReadOptions,
  createBlobReader,
  DRILL_RECORD_TYPE,
  type DrillRecord,
  type DrillRecordsResult,
  drillRecordScope,
  type ListDrillRecordsOptions,
  type NewestBlob,
} from "./reader.js";
