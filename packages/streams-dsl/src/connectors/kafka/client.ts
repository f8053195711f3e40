import { KafkaJS } from '@confluentinc/kafka-javascript'
import pino from 'pino'
import type { Logger } from '../types.js'

/** Default bootstrap servers (docs/contract.md §5.2). */
export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:9092'

/**
 * Bootstrap servers for a connector given none: `KAFKA_BROKERS`, else `127.0.0.1:9092`. On the runner, sinks get
 * the job's brokers through `Sink.open` (`SinkContext`) instead.
 */
export function defaultKafkaBrokers(): string {
  return process.env.KAFKA_BROKERS ?? DEFAULT_KAFKA_BROKERS
}

/**
 * Brokers as a comma-separated list or an array; normalised to librdkafka's `bootstrap.servers` string.
 *
 * @example
 * const brokers: Brokers = ['127.0.0.1:9092', '127.0.0.1:9094'] // or '127.0.0.1:9092,127.0.0.1:9094'
 */
export type Brokers = string | readonly string[]

/** `bootstrap.servers` of a broker list (default: {@link defaultKafkaBrokers}). */
export const bootstrapServers = (b: Brokers = defaultKafkaBrokers()): string =>
  (typeof b === 'string' ? b : b.join(',')).replace(/\s+/g, '')

/**
 * The structured logger connectors write to (pino's shape).
 *
 * @example
 * new KafkaSource({ topics: ['views'], groupId: 'audit', logger: pino({ level: 'warn' }) })
 */
export type ConnectorLogger = Logger

let baseLogger: pino.Logger | undefined
/** The pino logger connectors use when given none. */
export function connectorLogger(): pino.Logger {
  baseLogger ??= pino({ name: 'streams-dsl', level: process.env.LOG_LEVEL ?? 'info' })
  return baseLogger
}

/**
 * A logger of warnings that writes each message at most once per 30 s (librdkafka repeats a failing broker
 * connection every few seconds).
 *
 * @example
 * const warn = warnOncePer30s(logger); warn('kafka: 127.0.0.1:9092: Connection refused')
 */
export function warnOncePer30s(logger: ConnectorLogger): (message: string) => void {
  const lastSeen = new Map<string, number>()
  return (message) => {
    const now = Date.now()
    const last = lastSeen.get(message)
    if (last !== undefined && now - last < 30_000) return
    if (lastSeen.size > 1000) lastSeen.clear()
    lastSeen.set(message, now)
    logger.warn({}, message)
  }
}

/**
 * Routes the Kafka client's own log lines into pino, one level down for errors the client recovers from
 * itself (broker connection failures are retried by librdkafka and reported once by the runner instead).
 */
export function kafkaLogger(logger: ConnectorLogger = connectorLogger()): KafkaJS.Logger {
  // librdkafka repeats a failing broker connection every few seconds: one line per message per 30 s is enough.
  const lastSeen = new Map<string, number>()
  const once = (message: string) => {
    const now = Date.now()
    const last = lastSeen.get(message)
    if (last !== undefined && now - last < 30_000) return false
    if (lastSeen.size > 1000) lastSeen.clear()
    lastSeen.set(message, now)
    return true
  }
  const adapter: KafkaJS.Logger = {
    info: (message, extra) => logger.debug({ kafka: extra }, message),
    warn: (message, extra) => logger.debug({ kafka: extra }, message),
    error: (message, extra) => {
      if (once(message)) logger.warn({ kafka: extra }, message)
    },
    debug: () => {},
    namespace: () => adapter,
    setLogLevel: () => {},
  }
  return adapter
}

/** Common client settings: bootstrap servers, client id, the pino log bridge. */
export function clientConfig(brokers: Brokers | undefined, clientId: string, logger?: ConnectorLogger) {
  return {
    'bootstrap.servers': bootstrapServers(brokers),
    'client.id': clientId,
    kafkaJS: { logger: kafkaLogger(logger), logLevel: KafkaJS.logLevel.WARN },
  }
}
