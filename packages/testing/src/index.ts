/**
 * @ctr/testing: the integration-test harness. The vitest global setup
 * (`@ctr/testing/global-setup`) provides a Kafka and a Redis; these helpers
 * give each test unique topics and a Redis database of its own, so tests run
 * in parallel and again and again.
 */
export { type HarnessContext, kafkaBrokers, kafkaMode, redisUrl, testRunId } from './context.js'
export { freePort } from './docker.js'
export { type ConsumedMessage, type ConsumeOptions, consume, produce, type TestMessage, testKafka } from './kafka-io.js'
export { isRunning, runningNodeIds, startBroker, startCluster, stopBroker, stopCluster } from './local-cluster.js'
export { type PrivateRedis, privateRedis } from './private-redis.js'
export { freshRedis, type TestRedis } from './redis.js'
export { createTopics, deleteTopics, runTopicPrefix, type TestTopic, uniqueTopic, waitForIsr } from './topics.js'
export { type WaitOptions, waitFor } from './wait.js'
