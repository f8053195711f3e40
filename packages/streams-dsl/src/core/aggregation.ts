/**
 * A windowed aggregation as a small object. `add` may mutate and return `acc` (faster) or return a new value;
 * `result` must return a value that later `add` calls do not change (it is emitted). Accumulators must be JSON
 * so window state can be snapshot.
 *
 * @example
 * const total: Aggregation<{ n: number }, number, number> = { init: () => 0, add: (a, v) => a + v.n, result: (a) => a }
 */
export type Aggregation<T, A, R> = {
  readonly name: string
  readonly init: () => A
  readonly add: (acc: A, value: T) => A
  readonly merge?: (a: A, b: A) => A
  readonly result: (acc: A) => R
}
