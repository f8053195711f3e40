/** Sorted arrays of numbers (the event times an operator holds per key). */

/** The first index of `sorted` whose value is >= `x`. */
export function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Inserts `x` into `sorted` unless it is there already. */
export function insertSorted(sorted: number[], x: number): void {
  const i = lowerBound(sorted, x)
  if (sorted[i] !== x) sorted.splice(i, 0, x)
}

/** Inserts `x` into the sorted array `lists` holds for `key` (created empty on first use), unless it is there. */
export function insertSortedAt<K>(lists: Map<K, number[]>, key: K, x: number): void {
  let sorted = lists.get(key)
  if (sorted === undefined) {
    sorted = []
    lists.set(key, sorted)
  }
  insertSorted(sorted, x)
}

/** Removes `x` from `sorted` if it is there; returns whether the array is empty now. */
export function removeSorted(sorted: number[], x: number): boolean {
  const i = lowerBound(sorted, x)
  if (sorted[i] === x) sorted.splice(i, 1)
  return sorted.length === 0
}
