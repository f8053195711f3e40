export { ConfigError, type CtrSpec, loadConfig, type ProducerConfig, SETTINGS, usage } from './config.js'
export {
  EventGenerator,
  type EventKind,
  type GeneratorOptions,
  JOB_TIME,
  lateTimestamp,
  type OutRecord,
  tooLateTimestamp,
} from './generator.js'
export { connectKafka, KafkaUnavailableError, type RecordSink, type Topics } from './kafka.js'
export { MALFORMED_KINDS, type MalformedKind, malformedRecord } from './malformed.js'
export { Pacer } from './pacer.js'
export { productCtr, productId } from './products.js'
export { countSent, emptyStats, formatProgress, type Stats } from './progress.js'
export { mulberry32, type Rng } from './rng.js'
