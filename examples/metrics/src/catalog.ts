import { attributedCtrExample } from './attributed-ctr/example.js'
import { categoryCtrExample } from './category-ctr/example.js'
import { clickAttributionExample } from './click-attribution/example.js'
import type { RunOptions } from './harness/args.js'
import type { Example } from './harness/example.js'
import { runExample } from './harness/run-example.js'
import { kafkaOutputExample } from './kafka-output/example.js'
import { pageViewsExample } from './page-views/example.js'
import { topProductsExample } from './top-products/example.js'
import { uniqueClicksExample } from './unique-clicks/example.js'
import { userBurstsExample } from './user-bursts/example.js'
import { userSessionsExample } from './user-sessions/example.js'

/** An example as `pnpm example` lists and runs it. */
export type CatalogEntry = {
  readonly name: string
  readonly summary: string
  readonly writesKafka: boolean
  run(options: RunOptions): Promise<number>
}

const entry = <R>(example: Example<R>): CatalogEntry => ({
  name: example.name,
  summary: example.summary,
  writesKafka: example.output !== undefined,
  run: (options) => runExample(example, options),
})

/** Every example of `pnpm example <name>`, in the order `--help` lists them. */
export const CATALOG: readonly CatalogEntry[] = [
  entry(pageViewsExample),
  entry(topProductsExample),
  entry(userSessionsExample),
  entry(userBurstsExample),
  entry(kafkaOutputExample),
  entry(clickAttributionExample),
  entry(attributedCtrExample),
  entry(categoryCtrExample),
  entry(uniqueClicksExample),
]
