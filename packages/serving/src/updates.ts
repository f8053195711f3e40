import { REDIS_KEYS } from '@ctr/ctr-topology/contract'
import type { Redis } from 'ioredis'

/** Receives every message published on the updates channel. */
export type UpdateListener = (message: string) => void

/** Options of {@link UpdatesHub.subscribe}. */
export type SubscribeOptions = {
  /**
   * Called when the subscription is back after the connection dropped (Redis restarted, network): the messages
   * published meanwhile were missed.
   */
  onResubscribed?: () => void
}

const SUBSCRIBE_TIMEOUT_MS = 3000

/**
 * Fans the `ctr:updates` Pub/Sub channel out to any number of listeners over ONE dedicated subscriber
 * connection, opened with the first listener and closed when the last one leaves.
 *
 * @example
 * const hub = new UpdatesHub(redis)
 * const unsubscribe = await hub.subscribe((json) => console.log(json))
 * unsubscribe()
 */
export class UpdatesHub {
  private readonly listeners = new Map<UpdateListener, SubscribeOptions>()
  private subscriber: Redis | null = null
  private ready: Promise<void> | null = null

  constructor(
    private readonly redis: Redis,
    /** The Pub/Sub channel. */
    readonly channel: string = REDIS_KEYS.updates,
  ) {
    // The API's client is gone for good (disconnect()): its subscriber connection goes with it.
    redis.on('end', () => this.close())
  }

  /** Number of current listeners. */
  get size(): number {
    return this.listeners.size
  }

  /** Adds a listener once the channel is subscribed; rejects (and adds nothing) when Redis cannot subscribe. */
  async subscribe(listener: UpdateListener, options: SubscribeOptions = {}): Promise<() => void> {
    this.listeners.set(listener, options)
    try {
      await this.connect()
    } catch (err) {
      this.remove(listener)
      throw err
    }
    return () => this.remove(listener)
  }

  /** Drops every listener and closes the subscriber connection. */
  close(): void {
    this.listeners.clear()
    this.disconnect()
  }

  private connect(): Promise<void> {
    if (this.ready) return this.ready
    // A connection in subscriber mode can run no other command, hence a duplicate of the API's client. Its
    // offline queue is on so SUBSCRIBE waits for the connection, bounded by the timeout below; ioredis
    // re-subscribes by itself after a reconnect.
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, lazyConnect: false })
    subscriber.on('error', () => {}) // connection errors are reported by the API's own client
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return
      for (const listener of this.listeners.keys()) listener(message)
    })
    let lost = false
    subscriber.on('close', () => {
      lost = true
    })
    subscriber.on('ready', () => {
      if (!lost) return
      lost = false
      // ioredis sends SUBSCRIBE again by itself; its answer says Redis has registered it, so whatever is
      // published from now on arrives.
      subscriber.subscribe(this.channel).then(
        () => {
          if (this.subscriber !== subscriber) return
          for (const { onResubscribed } of this.listeners.values()) onResubscribed?.()
        },
        () => {}, // dropped again: the next 'ready' retries
      )
    })
    this.subscriber = subscriber
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`SUBSCRIBE ${this.channel} timed out`)), SUBSCRIBE_TIMEOUT_MS)
    })
    const ready = Promise.race([subscriber.subscribe(this.channel).then(() => undefined), timeout]).finally(() =>
      clearTimeout(timer),
    )
    this.ready = ready
    ready.catch(() => {
      if (this.subscriber === subscriber) this.disconnect()
    })
    return ready
  }

  private remove(listener: UpdateListener): void {
    this.listeners.delete(listener)
    if (this.listeners.size === 0) this.disconnect()
  }

  private disconnect(): void {
    const subscriber = this.subscriber
    this.subscriber = null
    this.ready = null
    subscriber?.disconnect()
  }
}
