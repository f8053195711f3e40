export { JOB_ENV, type JobConfig, JobConfigError, loadJobConfig } from './config.js'
export { ClickEvent, EventTimestamp, ImpressionEvent } from './events.js'
export { type CtrResult, toCtrResult, type WindowedCounts } from './result.js'
export { type CtrTopologyOptions, ctrTopology } from './topology.js'
