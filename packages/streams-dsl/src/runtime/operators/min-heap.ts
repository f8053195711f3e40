/** A binary min-heap of values by numeric priority (timers of the session windows). */
export class MinHeap<T> {
  private readonly keys: number[] = []
  private readonly values: T[] = []

  get size(): number {
    return this.keys.length
  }

  push(key: number, value: T): void {
    const keys = this.keys
    const values = this.values
    let i = keys.length
    keys.push(key)
    values.push(value)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((keys[parent] as number) <= key) break
      keys[i] = keys[parent] as number
      values[i] = values[parent] as T
      i = parent
    }
    keys[i] = key
    values[i] = value
  }

  /** The smallest key, and its value, without removing them. */
  peek(): { readonly key: number; readonly value: T } | undefined {
    return this.keys.length === 0 ? undefined : { key: this.keys[0] as number, value: this.values[0] as T }
  }

  /** The smallest key (Infinity when empty). */
  get minKey(): number {
    return this.keys.length === 0 ? Number.POSITIVE_INFINITY : (this.keys[0] as number)
  }

  /** The value with the smallest key (undefined when empty). */
  get minValue(): T | undefined {
    return this.values[0]
  }

  /** Removes and returns the value with the smallest key if that key is <= limit. */
  popIfAtMost(limit: number): T | undefined {
    const keys = this.keys
    const values = this.values
    if (keys.length === 0 || (keys[0] as number) > limit) return undefined
    const top = values[0] as T
    const lastKey = keys.pop() as number
    const lastValue = values.pop() as T
    const n = keys.length
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && (keys[r] as number) < (keys[l] as number) ? r : l
        if ((keys[c] as number) >= lastKey) break
        keys[i] = keys[c] as number
        values[i] = values[c] as T
        i = c
      }
      keys[i] = lastKey
      values[i] = lastValue
    }
    return top
  }
}
