/**
 * Everything of Kafka's and Redis's the runner and its engine setup use, in one module the runner imports only
 * when it needs them (`await import('./kafka-platform.js')`): a runner on a source of the user's with dead letters
 * and checkpoints elsewhere (the test driver's) never loads the native Kafka client or a Redis client.
 */
export { alterTopicCommand, KafkaChangelogStore } from '../checkpoint/changelog-store.js'
export { describeCluster, ensureTopics } from '../connectors/kafka/admin.js'
export { deadLetterTopic, kafkaDeadLetterSink } from '../connectors/kafka/dead-letter-sink.js'
export { KafkaSource } from '../connectors/kafka/kafka-source.js'
export { kafkaRepartitionSink } from '../connectors/kafka/repartition-sink.js'
export { describeTopicConfigs, maxMessageBytesOf } from '../connectors/kafka/topic-configs.js'
export { KafkaTransactions, TransactionAbortedError } from '../connectors/kafka/transactions.js'
export { BoundedRun } from './bounded-run.js'
export { checkKafka, checkRedis } from './preflight.js'

/** The module's exports, as the runner holds them once loaded. */
export type KafkaPlatform = typeof import('./kafka-platform.js')
