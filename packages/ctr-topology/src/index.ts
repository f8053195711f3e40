export { ConfigError, JOB_ENV, type JobConfig, JobConfigError, loadJobConfig } from './config.js'
export {
  CtrResult,
  historyKey,
  MAX_PRODUCT_ID_LENGTH,
  ProductId,
  productIdRule,
  REDIS_KEYS,
} from './contract.js'
export { ClickEvent, EventTimestamp, ImpressionEvent } from './events.js'
export { MissingTopicError, requireInputTopics } from './preflight.js'
export { toCtrResult, type WindowedCounts } from './result.js'
export { type CtrResultsSinkOptions, ctrResultsSink } from './results-sink.js'
export { type CtrTopologyOptions, ctrTopology } from './topology.js'
