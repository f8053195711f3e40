export {
  type ClusterInfo,
  describeCluster,
  describePartitions,
  ensureTopics,
  KafkaUnavailableError,
  type PartitionOffsets,
  type TopicSpec,
} from './admin.js'
export { changelogTopic, type KafkaChangelogOptions, KafkaChangelogStore } from './changelog-store.js'
export {
  type Brokers,
  bootstrapServers,
  type ConnectorLogger,
  DEFAULT_KAFKA_BROKERS,
  defaultKafkaBrokers,
  setDefaultKafkaBrokers,
} from './client.js'
export {
  type DeadLetterSinkOptions,
  deadLetterMessage,
  deadLetterTopic,
  kafkaDeadLetterSink,
} from './dead-letter-sink.js'
export {
  KafkaProducer,
  type KafkaProducerOptions,
  type KafkaSinkOptions,
  kafkaSink,
  type ProducerMessage,
} from './kafka-sink.js'
export { KafkaSource, type KafkaSourceOptions, type PartitionPosition } from './kafka-source.js'
export { kafkaRepartitionSink } from './repartition-sink.js'
