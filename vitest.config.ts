import { defineConfig } from 'vitest/config'

// One vitest project per package and kind of test:
//   unit:<pkg>  *.test.ts      in-memory, no services, fast
//   int:<pkg>   *.int.test.ts  real Kafka and Redis from the global setup in @ctr/testing
//   chaos:<pkg> *.chaos.test.ts  tests that stop brokers, kill jobs or Redis: one file at a time,
//               after the others, so they never disturb a parallel test
// `pnpm test:unit` runs unit:*, `pnpm test:integration` int:*, `pnpm test:chaos` chaos:*.
const packages = [
  'packages/streams-dsl',
  'packages/ctr-topology',
  'packages/serving',
  'packages/testing',
  'examples/producers',
  'examples/metrics',
  'scripts',
  'compose',
]
const name = (dir: string) => dir.split('/').pop()
const exclude = ['**/node_modules/**', '**/dist/**']

export default defineConfig({
  test: {
    projects: [
      ...packages.map((dir) => ({
        test: {
          name: `unit:${name(dir)}`,
          root: dir,
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts', '**/*.chaos.test.ts'],
        },
      })),
      ...packages.map((dir) => ({
        test: {
          name: `chaos:${name(dir)}`,
          root: dir,
          include: ['**/*.chaos.test.ts'],
          exclude,
          globalSetup: ['@ctr/testing/global-setup'],
          setupFiles: ['@ctr/testing/chaos-setup'],
          fileParallelism: false,
          // One retry: a chaos test depends on timing on a shared machine (a rebalance, a broker restart).
          // Every failed attempt is printed (`[chaos] attempt 1 of ... failed: ...`, by chaos-setup), so a flake
          // is seen in a green run, never hidden; a second failure fails the run.
          retry: 1,
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      })),
      ...packages.map((dir) => ({
        test: {
          name: `int:${name(dir)}`,
          root: dir,
          include: ['**/*.int.test.ts'],
          exclude,
          globalSetup: ['@ctr/testing/global-setup'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      })),
    ],
  },
})
