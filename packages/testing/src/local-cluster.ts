/**
 * The native Kafka cluster of `pnpm kafka:up` (scripts/lib/kafka-cluster.ts),
 * for chaos tests that stop and restart brokers.
 */
export {
  isRunning,
  runningNodeIds,
  startBroker,
  startCluster,
  stopBroker,
  stopCluster,
} from '../../../scripts/lib/kafka-cluster.js'
