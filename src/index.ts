// The public API, named export by export.
export { open } from './open.ts';
export { Spool } from './core/spool.ts';
export type { AckAnswer, QueueInfo, SpoolOptions } from './core/spool.ts';
export type { AttemptOutcome, SpoolObserver } from './core/observers.ts';
export { traceWorkers } from './tracing/otel.ts';
export { Queue } from './core/queue.ts';
export type { BulkItem, ConsumeOptions, Page, PageOptions } from './core/queue.ts';
export { LeasedJob } from './core/leased-job.ts';
export { Topic } from './core/topic.ts';
export type { PublishOptions, SubscriberInfo, SubscriberOptions, SubscriberStatus, TopicInfo } from './core/topic.ts';
export type { AckArgs, AckOptions, NackOptions } from './core/leased-job.ts';
export { Worker } from './core/worker.ts';
export type { Handler, ProcessOptions, WorkerEvents } from './core/worker.ts';
export type { ProcessBeat, WorkerBeat, WorkerProcess } from './core/heartbeat.ts';
export type { AuditEntry, AuditLog } from './core/audit-log.ts';
export type { LeaseOptions } from './core/lease.ts';
export type { JobInfo } from './core/job-info.ts';
export type { Presence } from './core/presence.ts';
export type {
  BackoffFunction,
  BackoffOptions,
  JobOptions,
  KeepOptions,
  QueueOptions,
  StoredQueueOptions,
} from './core/options.ts';
export type { Duration } from './core/duration.ts';
export { parseDuration } from './core/duration.ts';
export { ManualClock, systemClock } from './core/clock.ts';
export type { Clock } from './core/clock.ts';
export { bytesCodec, jsonCodec } from './core/codec.ts';
export type { Codec } from './core/codec.ts';
export { defaultQueueSettings } from './store/contract.ts';
export type {
  Backoff,
  Capabilities,
  Counts,
  Health,
  JobState,
  QueueScope,
  QueueSettings,
  Retention,
  Store,
} from './store/contract.ts';
export {
  ClosedError,
  CorruptionError,
  ExistsError,
  ExpectationFailedError,
  ForbiddenError,
  InternalError,
  JobFailedError,
  LeaseLostError,
  MissingDriverError,
  NotFoundError,
  QueueFullError,
  SpoolError,
  LockedError,
  ReplicationError,
  StorageError,
  TimeoutError,
  TooLargeError,
  UnauthorizedError,
  UnknownStoreError,
  UnsupportedMediaTypeError,
  ValidationError,
  errorCodes,
  errorDetailFields,
  errorFromDetails,
  redactUrl,
} from './errors.ts';
export type { ErrorCode, ErrorDetails, NotFoundKind } from './errors.ts';
