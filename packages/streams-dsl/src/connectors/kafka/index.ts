/**
 * Kafka connectors: the consumer-group source the runner reads with, a sink, the dead-letter sink, and topic
 * administration. Without `brokers`, a sink on the runner uses the job's `KAFKA_BROKERS` (see `Sink.open`).
 *
 * @packageDocumentation
 * @module \@ctr/streams-dsl/kafka
 * @example
 * import { ensureTopics, kafkaSink } from '@ctr/streams-dsl/kafka'
 * await ensureTopics([{ topic: 'views-per-minute', partitions: 6 }])
 * perMinute.to(kafkaSink({ topic: 'views-per-minute', key: (r) => r.key }))
 */
export {
  type ClusterInfo,
  describeCluster,
  describePartitions,
  ensureTopics,
  KafkaUnavailableError,
  type PartitionOffsets,
  type TopicSpec,
} from './admin.js'
export type { Brokers, ConnectorLogger } from './client.js'
export {
  type DeadLetterSinkOptions,
  deadLetterMessage,
  deadLetterTopic,
  kafkaDeadLetterSink,
} from './dead-letter-sink.js'
export { KafkaProducer, type KafkaProducerOptions, type ProducerMessage } from './kafka-producer.js'
export { type KafkaSinkOptions, kafkaSink } from './kafka-sink.js'
export { KafkaSource, type KafkaSourceOptions } from './kafka-source.js'
export type { MessageSender } from './transactions.js'
