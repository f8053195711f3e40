/**
 * Spreads a rate over ticks: how many events are due at each call so that, on average, `rate`
 * events per second go out, whatever the tick interval and its jitter.
 *
 * @example
 * const pacer = new Pacer(100, 0)
 * pacer.due(250) // 25
 * pacer.due(260) // 1
 */
export class Pacer {
  #emitted = 0

  constructor(
    private readonly rate: number,
    private readonly start: number,
  ) {}

  /** The number of events to emit now to keep up with the rate since `start`. */
  due(now: number): number {
    const total = Math.floor((this.rate * Math.max(0, now - this.start)) / 1000)
    // A clock that steps back owes nothing until it catches up again.
    if (total <= this.#emitted) return 0
    const n = total - this.#emitted
    this.#emitted = total
    return n
  }
}
