import { defineConfig } from 'vitest/config'

// One vitest project per package and kind of test:
//   unit:<pkg>  *.test.ts      in-memory, no services, fast
//   int:<pkg>   *.int.test.ts  real Kafka and Redis from the global setup in @ctr/testing
// `pnpm test:unit` runs unit:*, `pnpm test:integration` runs int:*.
const packages = ['packages/streams-dsl', 'packages/ctr-topology', 'packages/serving', 'examples/producers', 'scripts']
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
          exclude: [...exclude, '**/*.int.test.ts'],
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
