/**
 * The fos client library, shared by the command line and the sync agent: connections,
 * operations, transfers, a connection pool and retries.
 */
export { DEFAULT_SERVER, connectError, connectTcp, formatAddress, parseServerAddress } from './connect.js';
export { abortError, sleep, systemClock } from './clock.js';
export { Connection, DEFAULT_TIMEOUT_MS } from './connection.js';
export { downloadFile, partialPath, previewFile } from './download.js';
export type { DownloadOptions } from './download.js';
export type { DecisionReply, HeldQuery, HoldArgs, HoldReply, ListedBatch } from './held.js';
export { ClientPool } from './pool.js';
export type { PoolOptions } from './pool.js';
export { TRANSIENT_CODES, backoffMs, isTransient, retry } from './retry.js';
export type { BackoffOptions, RetryInfo, RetryOptions } from './retry.js';
export { FosClient } from './session.js';
export type { DeleteOptions, MoveOptions, RestoreOptions, SignalOptions, TrashItem } from './session.js';
export { uploadFile } from './upload.js';
export { BATCH_FILE_MAX_BYTES, uploadBatch } from './upload-batch.js';
export type { BatchUploadFile, BatchUploadResult } from './upload-batch.js';
export type { UploadOptions } from './upload.js';
export type {
  Clock,
  ConnectFn,
  ConnectionOptions,
  Credentials,
  IssuedToken,
  Listing,
  Negotiated,
  Notice,
  Preview,
  ProgressFn,
  RestoreReport,
  RestoreStep,
  ServerAddress,
  TransferProgress,
} from './types.js';
