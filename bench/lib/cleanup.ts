import { KafkaJS } from '@confluentinc/kafka-javascript'
import { quietKafkaLogger } from './quiet-logger.js'

/** Deletes the topics and consumer groups whose names start with `prefix` (a bench's own, or leftovers). */
export async function deleteBenchTopics(brokers: string, prefix: string): Promise<void> {
  const admin = new KafkaJS.Kafka({}).admin({
    'bootstrap.servers': brokers,
    kafkaJS: { logger: quietKafkaLogger },
  } as never)
  await admin.connect()
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => {})
    const groups = await admin
      .listGroups()
      .then((g) => g.groups.map((x) => x.groupId).filter((id) => id.startsWith(prefix)))
      .catch(() => [] as string[])
    if (groups.length) await admin.deleteGroups(groups).catch(() => {})
  } finally {
    await admin.disconnect()
  }
}
