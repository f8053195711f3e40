import rdkafka from '@confluentinc/kafka-javascript'
import { partitionForKey } from '@ctr/streams-dsl/internal'

/** Live CTR traffic: `perSecond` events with event time = now, keyed by product, until stopped. */
export async function liveProducer(o: {
  brokers: string
  impressionsTopic: string
  clicksTopic: string
  partitions: number
  products: number
  perSecond: number
}): Promise<{ stop(): Promise<number> }> {
  const producer = new rdkafka.Producer({
    'bootstrap.servers': o.brokers,
    'client.id': 'bench-live',
    'enable.idempotence': true,
    acks: -1,
    'linger.ms': 5,
    log_level: 0,
  })
  await new Promise<void>((resolve, reject) => producer.connect({}, (e) => (e ? reject(e) : resolve())))
  producer.setPollInterval(100)
  let sent = 0
  let owed = 0
  let x = 0x2545f491
  const tick = 20
  const timer = setInterval(() => {
    owed += (o.perSecond * tick) / 1000
    for (; owed >= 1; owed--) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      const product = `p-${(x >>> 0) % o.products}`
      const click = sent % 11 === 10
      const ts = Date.now()
      const value = JSON.stringify({ event_id: `live-${sent}`, product_id: product, user_id: 'u', timestamp: ts })
      producer.produce(
        click ? o.clicksTopic : o.impressionsTopic,
        partitionForKey(product, o.partitions),
        Buffer.from(value),
        product,
        ts,
      )
      sent++
    }
  }, tick)
  return {
    async stop() {
      clearInterval(timer)
      await new Promise<void>((resolve) => producer.flush(30_000, () => resolve()))
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
      return sent
    },
  }
}
