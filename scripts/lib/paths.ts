import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Absolute path of the repository root (this file lives in scripts/lib/). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Where the local Kafka cluster keeps its data, logs and pid files (gitignored). */
export const kafkaHome: string = process.env.KAFKA_HOME_DIR ?? join(repoRoot, '.kafka')

/** Cache of resolved build inputs (the broker classpath), gitignored. */
export const cacheDir: string = join(repoRoot, '.cache')
