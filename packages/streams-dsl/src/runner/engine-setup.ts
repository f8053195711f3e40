import { describeCluster, ensureTopics } from '../connectors/kafka/admin.js'
import { KafkaChangelogStore } from '../connectors/kafka/changelog-store.js'
import type { ConnectorLogger } from '../connectors/kafka/client.js'
import { kafkaRepartitionSink } from '../connectors/kafka/repartition-sink.js'
import type { TopicPartition } from '../connectors/types.js'
import { type KeyByPartitioning, keyByPartitioning } from '../graph/repartition.js'
import type { Topology } from '../graph/topology.js'
import { createEngine } from '../runtime/engine.js'
import { repartitionTopic } from '../runtime/repartition.js'
import { createStagedEngine } from '../runtime/staged-engine.js'
import type { Engine, EngineOptions, RepartitionTopic, TaskGrouping } from '../runtime/types.js'
import type { CheckpointStore } from '../state/checkpoint.js'
import type { CheckpointConfig } from './checkpoint-config.js'
import { Checkpointer, type CheckpointResult, type RestoreResult } from './checkpointer.js'
import { ConfigError } from './env-parse.js'
import { StagedCheckpointer } from './staged-checkpointer.js'

/**
 * How the runner spreads a topology over tasks: `'auto'` decides per keyBy (co-partitioned input: a task per
 * partition number; any other input: repartitioned through an internal topic, a task per partition of it), so
 * several instances count exactly whatever the input's keys. `'single'`: one task holding every partition
 * (exact for any keying on one instance, no internal topic). `'partition'` or a function: fixed grouping.
 */
export type TaskMode = TaskGrouping | 'auto'

/** What checkpoints and restores an engine's tasks. */
export type TaskCheckpointer = {
  readonly store: CheckpointStore
  checkpoint(): Promise<CheckpointResult>
  restore(partitions: readonly TopicPartition[]): Promise<RestoreResult>
}

/** The engine a runner drives, and what goes with it. */
export type EngineSetup = {
  readonly engine: Engine
  readonly checkpointer: TaskCheckpointer | undefined
  /** Topics to subscribe to: the sources, plus the repartition topics. */
  readonly topics: readonly string[]
  /** `range` when tasks span several topics' partitions (they must stay together); else cooperative-sticky. */
  readonly assignmentStrategy: 'range' | undefined
  /** Per keyBy: repartitioned or co-partitioned, and why (for the start-up log and /status). */
  readonly partitioning: readonly KeyByPartitioning[]
  readonly repartitionTopics: readonly RepartitionTopic[]
  close(): Promise<void>
}

type SetupOptions = {
  readonly tasks: TaskMode
  readonly applicationId: string
  readonly brokers: string
  readonly checkpoints: CheckpointConfig
  readonly engine: Omit<EngineOptions, 'tasks' | 'repartition'>
  readonly logger: ConnectorLogger
}

/** Builds the engine (plain or staged), its checkpointer and the internal topics it needs. */
export async function setupEngine(topology: Topology, o: SetupOptions): Promise<EngineSetup> {
  const counts = (await describeCluster(o.brokers)).topics
  const partitioning = keyByPartitioning(topology, counts)
  const changelog = async (partitions: number) =>
    KafkaChangelogStore.open({ applicationId: o.applicationId, partitions, brokers: o.brokers, logger: o.logger })
  const sourcePartitions = Math.max(1, ...topology.sourceTopics.map((t) => counts.get(t) ?? 1))
  const plain = async (tasks: TaskGrouping): Promise<EngineSetup> => {
    const engine = createEngine(topology, { ...o.engine, tasks })
    // One changelog partition per task when tasks are partitions (Kafka Streams' layout): restore reads one tail.
    const checkpointer = o.checkpoints.enabled
      ? new Checkpointer(engine, await changelog(tasks === 'partition' ? sourcePartitions : 1), o.logger)
      : undefined
    return {
      engine,
      checkpointer,
      topics: topology.sourceTopics,
      // The range assignor gives every instance the same partition numbers of co-partitioned topics, so a task's
      // partitions stay together; cooperative-sticky does not, so it is used only for a single task.
      assignmentStrategy: o.checkpoints.enabled && tasks !== 'single' ? 'range' : undefined,
      partitioning,
      repartitionTopics: [],
      close: async () => {},
    }
  }
  if (o.tasks !== 'auto') return plain(o.tasks)

  const missing = topology.sourceTopics.filter((t) => !counts.has(t))
  if (missing.length > 0)
    throw new ConfigError(`topic ${missing.map((t) => `"${t}"`).join(', ')} does not exist; create it first`)
  const routed = partitioning.filter((k) => k.mode === 'repartitioned')
  if (routed.length === 0) return plain('partition')
  if (!o.checkpoints.enabled)
    throw new ConfigError(
      `CHECKPOINTS=off: ${routed.map((k) => k.keyBy).join(', ')} need(s) a repartition topic, which needs checkpoints (set CHECKPOINTS=on, TASKS=single, or declare the input co-partitioned)`,
    )
  const wanted = routed.map((k) => ({
    keyBy: k.keyBy,
    topic: repartitionTopic(o.applicationId, k.keyBy),
    partitions: sourcePartitions,
  }))
  await ensureTopics(
    wanted.map((t) => ({ topic: t.topic, partitions: t.partitions })),
    o.brokers,
  )
  // an existing repartition topic keeps its partition count
  const now = (await describeCluster(o.brokers)).topics
  const topics: RepartitionTopic[] = wanted.map((t) => ({ ...t, partitions: now.get(t.topic) ?? t.partitions }))
  const origins = topology.sourceTopics.flatMap((topic) =>
    Array.from({ length: counts.get(topic) ?? 0 }, (_, partition) => ({ topic, partition })),
  )
  const sink = kafkaRepartitionSink({
    brokers: o.brokers,
    clientId: `${o.applicationId}-repartition`,
    logger: o.logger,
  })
  const copartitioned = partitioning.some((k) => k.mode === 'co-partitioned')
  const engine = createStagedEngine(topology, {
    ...o.engine,
    topics,
    sink,
    origins,
    ...(copartitioned && { upstreamTasks: 'partition' as const }),
  })
  const partitions = Math.max(sourcePartitions, ...topics.map((t) => t.partitions))
  return {
    engine,
    checkpointer: new StagedCheckpointer(engine, await changelog(partitions), o.logger),
    topics: [...topology.sourceTopics, ...topics.map((t) => t.topic)],
    assignmentStrategy: copartitioned ? 'range' : undefined,
    partitioning,
    repartitionTopics: topics,
    close: () => sink.close(),
  }
}
