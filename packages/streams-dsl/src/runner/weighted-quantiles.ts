/**
 * Quantiles of weighted samples over a sliding time window: each sample is a value and how many events it
 * stands for (a write of 4,000 results is one sample of weight 4,000), so a burst counts as its events, not as
 * one observation. For the result latency metric.
 *
 * @example
 * const q = new WeightedQuantiles(60_000)
 * q.add(12.5, 4000, Date.now())
 * q.quantile(0.99, Date.now()) // 12.5
 */
export class WeightedQuantiles {
  #samples: { at: number; value: number; weight: number }[] = []

  constructor(readonly windowMs: number) {}

  add(value: number, weight: number, now: number): void {
    if (weight <= 0) return
    this.#samples.push({ at: now, value, weight })
    // amortised pruning: keep it bounded even without scrapes
    if (this.#samples.length > 10_000) this.#prune(now)
  }

  /** The value below which `q` of the weight lies (null without samples in the window). */
  quantile(q: number, now: number): number | null {
    this.#prune(now)
    if (this.#samples.length === 0) return null
    const sorted = [...this.#samples].sort((a, b) => a.value - b.value)
    let total = 0
    for (const s of sorted) total += s.weight
    const target = q * total
    let seen = 0
    for (const s of sorted) {
      seen += s.weight
      if (seen >= target) return s.value
    }
    return (sorted[sorted.length - 1] as { value: number }).value
  }

  #prune(now: number): void {
    const from = now - this.windowMs
    let i = 0
    while (i < this.#samples.length && (this.#samples[i] as { at: number }).at < from) i++
    if (i > 0) this.#samples = this.#samples.slice(i)
  }
}
