/**
 * Live traffic for the outage chaos tests: impressions and clicks with event time = now, produced at a steady
 * rate to explicit partitions (keyed by product, as the producers do) while the test breaks things. Records
 * keep being created during an outage (the producer buffers them, delivery is retried however long it takes),
 * so their event times fall inside the outage, as with real producers. The ground truth is computed here from
 * the acknowledged records only (no job code). Within a partition event times never decrease, so an event is
 * late only if the job let its watermark pass data it had not read: exactly what these tests look for.
 */
import rdkafka from '@confluentinc/kafka-javascript'
import { consume } from '@ctr/testing'
import { partitionOf, type Result, type Truth, WINDOW } from './chaos-data.js'

type Sent = { readonly product: string; readonly ts: number; readonly click: boolean }

export class LiveTraffic {
  /** Records handed to the producer, and acknowledged by the cluster. */
  sent = 0
  acked = 0
  readonly #acked: Sent[] = []
  readonly #pending = new Map<number, Sent>()
  #producer: rdkafka.Producer | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #failure: Error | undefined

  constructor(
    readonly o: {
      readonly brokers: string
      readonly topics: { readonly impressions: string; readonly clicks: string }
      readonly partitions: number
      readonly products: number
      readonly perSecond: number
      readonly rnd: () => number
    },
  ) {}

  async start(): Promise<void> {
    const producer = new rdkafka.Producer({
      'bootstrap.servers': this.o.brokers,
      'client.id': 'chaos-live-producer',
      'enable.idempotence': true,
      acks: -1,
      'linger.ms': 10,
      // a producer rides out an outage of the whole cluster: nothing created during it is dropped
      'message.timeout.ms': 0,
      dr_cb: true,
      log_level: 0,
    })
    await new Promise<void>((resolve, reject) => producer.connect({}, (e) => (e ? reject(e) : resolve())))
    producer.setPollInterval(50)
    producer.on('delivery-report', (err, report) => {
      const id = report.opaque as number
      const s = this.#pending.get(id)
      this.#pending.delete(id)
      if (err) this.#failure ??= new Error(`live producer: delivery failed: ${err.message}`)
      else if (s) {
        this.acked++
        this.#acked.push(s)
      }
    })
    this.#producer = producer
    const tick = 50
    let owed = 0
    this.#timer = setInterval(() => {
      owed += (this.o.perSecond * tick) / 1000
      for (; owed >= 1; owed--) this.#one()
    }, tick)
  }

  #one(): void {
    const product = `p-${Math.floor(this.o.rnd() * this.o.products)}`
    const click = this.o.rnd() < 0.125
    const ts = Date.now()
    const value = JSON.stringify({ event_id: `e-${this.sent}`, product_id: product, user_id: 'u', timestamp: ts })
    const id = this.sent++
    this.#pending.set(id, { product, ts, click })
    const topic = click ? this.o.topics.clicks : this.o.topics.impressions
    ;(this.#producer as rdkafka.Producer).produce(
      topic,
      partitionOf(product, this.o.partitions),
      Buffer.from(value),
      product,
      ts,
      id,
    )
  }

  /** Stops creating records and waits until every one created is acknowledged. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    const producer = this.#producer
    if (!producer) return
    await new Promise<void>((resolve, reject) => producer.flush(300_000, (e) => (e ? reject(e) : resolve())))
    while (this.#pending.size > 0 && !this.#failure) await new Promise((r) => setTimeout(r, 50))
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
    if (this.#failure) throw this.#failure
  }

  /** `ctr:latest` / `ctr:previous` as the contract says they must be, from the acknowledged records. */
  truth(): Truth {
    const counts = new Map<string, Map<number, { impressions: number; clicks: number }>>()
    for (const s of this.#acked) {
      const byWindow = counts.get(s.product) ?? new Map()
      counts.set(s.product, byWindow)
      const w = Math.floor(s.ts / WINDOW) * WINDOW
      const c = byWindow.get(w) ?? { impressions: 0, clicks: 0 }
      if (s.click) c.clicks++
      else c.impressions++
      byWindow.set(w, c)
    }
    const truth: Truth = { latest: {}, previous: {} }
    for (const [product, byWindow] of counts) {
      const [latest, previous] = [...byWindow.keys()].sort((a, b) => b - a)
      const result = (w: number): Result => {
        const c = byWindow.get(w) as { impressions: number; clicks: number }
        const ctr = c.impressions === 0 ? null : c.clicks / c.impressions
        return { product_id: product, ...c, ctr, window_start: w, window_end: w + WINDOW }
      }
      if (latest !== undefined) truth.latest[product] = result(latest)
      if (previous !== undefined) truth.previous[product] = result(previous)
    }
    return truth
  }
}

/** DLQ records of an application by `error.reason` (the DLQ is at-least-once: a restart may repeat some). */
export async function deadLettersByReason(applicationId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const m of await consume(`${applicationId}-dlq`, { timeoutMs: 8_000 })) {
    const reason = m.headers['error.reason'] ?? '?'
    out[reason] = (out[reason] ?? 0) + 1
  }
  return out
}
