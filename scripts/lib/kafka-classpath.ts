import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { cacheDir, repoRoot } from './paths.js'
import { UserError } from './user-error.js'

/** The pom that lists the broker jars (Kafka plus a log4j 2 backend). */
export const KAFKA_POM: string = join(repoRoot, 'scripts', 'kafka', 'pom.xml')

/** The Kafka version the pom pins, read from its `kafka.version` property. */
export function kafkaVersion(): string {
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(KAFKA_POM, 'utf8'))
  return m?.[1] ?? 'unknown'
}

/** The java executable: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` from the PATH. */
export function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

/** Checks that `java` is Java 17 or newer; returns its major version. Throws a {@link UserError} otherwise. */
export function checkJava(): number {
  const r = spawnSync(javaCommand(), ['-version'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) {
    throw new UserError(
      'Java not found: the local Kafka needs Java 17 or newer (apt-get install openjdk-17-jre-headless), or use Docker: docker compose -f compose/docker-compose.yml up',
    )
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`)
  const first = Number(m?.[1] ?? 0)
  const major = first === 1 ? Number(m?.[2] ?? 0) : first
  if (major < 17) {
    throw new UserError(
      `Java ${major} is too old: the local Kafka needs Java 17 or newer (apt-get install openjdk-17-jre-headless).`,
    )
  }
  return major
}

function cacheFile(): string {
  const hash = createHash('sha256').update(readFileSync(KAFKA_POM)).digest('hex').slice(0, 12)
  return join(cacheDir, 'kafka', `classpath-${hash}.txt`)
}

function cachedClasspath(): string | null {
  const file = cacheFile()
  if (!existsSync(file)) return null
  const cp = readFileSync(file, 'utf8').trim()
  // The jars live in ~/.m2: if someone cleaned it, resolve again.
  return cp.length > 0 && cp.split(':').every((jar) => existsSync(jar)) ? cp : null
}

/**
 * The broker classpath: cached under `.cache/kafka/`, else resolved with Maven
 * from {@link KAFKA_POM} (downloads into ~/.m2 the first time, printing progress).
 */
export async function brokerClasspath(log: (line: string) => void): Promise<string> {
  const cached = cachedClasspath()
  if (cached) return cached
  if (spawnSync('mvn', ['-v'], { stdio: 'ignore' }).status !== 0) {
    throw new UserError(
      'Maven not found: the local Kafka is fetched with it (apt-get install maven), or use Docker: docker compose -f compose/docker-compose.yml up',
    )
  }
  const file = cacheFile()
  mkdirSync(join(cacheDir, 'kafka'), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  log(`resolving Apache Kafka ${kafkaVersion()} from Maven Central (cached in ~/.m2 after the first time)`)
  const args = ['-B', '-Dstyle.color=never', '-f', KAFKA_POM, 'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`]
  const child = spawn('mvn', args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const tail: string[] = []
  let downloads = 0
  const onLine = (line: string) => {
    tail.push(line)
    if (tail.length > 30) tail.shift()
    if (/^(\[INFO\] )?Downloaded from/.test(line)) {
      downloads++
      if (downloads % 50 === 0) log(`  ${downloads} files downloaded so far...`)
    }
  }
  createInterface({ input: child.stdout }).on('line', onLine)
  createInterface({ input: child.stderr }).on('line', onLine)
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 1)))
  if (code !== 0 || !existsSync(tmp)) {
    const errors = tail.filter((l) => l.startsWith('[ERROR]')).slice(0, 3)
    throw new UserError(
      `Maven could not resolve the Kafka jars (is Maven Central reachable?): ${errors.join(' ') || tail.slice(-3).join(' ')}`,
    )
  }
  renameSync(tmp, file)
  if (downloads > 0) log(`  ${downloads} files downloaded`)
  const cp = cachedClasspath()
  if (!cp)
    throw new UserError(`Maven wrote an unusable classpath to ${file}; delete it and run \`pnpm kafka:up\` again.`)
  return cp
}
