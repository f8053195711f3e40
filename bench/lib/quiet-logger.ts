import type { KafkaJS } from '@confluentinc/kafka-javascript'

/** A KafkaJS logger that prints nothing (benchmarks report their own figures). */
export const quietKafkaLogger: KafkaJS.Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  namespace: () => quietKafkaLogger,
  setLogLevel: () => {},
}
