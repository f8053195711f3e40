import { z } from 'zod'
import { DEFAULT_MAX_STALENESS_MS } from './results-cache.js'
import { DEFAULT_MAX_STREAM_CLIENTS } from './routes/stream.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const url = (name: string, schemes: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol)
      } catch {
        return false
      }
    },
    { message: `${name} must be a ${schemes.map((s) => s.replace(':', '://…')).join(' or ')} URL` },
  )

const int = (name: string, min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`)
    .default(fallback)

const Env = z.object({
  PORT: z.coerce
    .number({ error: 'PORT must be a port number' })
    .int('PORT must be an integer')
    .min(1, 'PORT must be between 1 and 65535')
    .max(65535, 'PORT must be between 1 and 65535')
    .default(8000),
  // Loopback unless opened on purpose (0.0.0.0 in compose): the API is not meant to face a network by default.
  HOST: z.string().min(1, 'HOST must not be empty').default('127.0.0.1'),
  REDIS_URL: url('REDIS_URL', ['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  JOB_STATUS_URL: url('JOB_STATUS_URL', ['http:', 'https:']).default('http://127.0.0.1:8001/status'),
  CORS_ORIGIN: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  CACHE_MAX_STALENESS_MS: int('CACHE_MAX_STALENESS_MS', 0, 60_000, DEFAULT_MAX_STALENESS_MS),
  SSE_MAX_CLIENTS: int('SSE_MAX_CLIENTS', 1, 100_000, DEFAULT_MAX_STREAM_CLIENTS),
})

/** Configuration of the API server, from the environment. */
export type ServingConfig = {
  port: number
  host: string
  redisUrl: string
  jobStatusUrl: string
  /** `*`, or a comma-separated list of allowed origins; no CORS headers when undefined. */
  corsOrigin: string | undefined
  logLevel: (typeof LOG_LEVELS)[number]
  /** Staleness bound of the results cache in ms; 0 reads Redis on every request (see `ResultsCache`). */
  cacheMaxStalenessMs: number
  /** Most `/ctr/stream` clients at once; one more gets a 503 `too_many_streams`. */
  sseMaxClients: number
}

/** Thrown for an invalid environment; its message is one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads and validates the configuration: `PORT` (8000), `HOST` (127.0.0.1; 0.0.0.0 listens on every interface),
 * `REDIS_URL` (redis://127.0.0.1:6379, a database number in the path is honoured), `JOB_STATUS_URL`
 * (http://127.0.0.1:8001/status), `CORS_ORIGIN` (unset: no CORS), `LOG_LEVEL` (info), `CACHE_MAX_STALENESS_MS`
 * (1000), `SSE_MAX_CLIENTS` (200). Empty variables count as unset.
 *
 * @example
 * const config = loadConfig(process.env) // throws ConfigError('invalid configuration: PORT must be …')
 */
export function loadConfig(env: Record<string, string | undefined>): ServingConfig {
  const present = Object.fromEntries(
    Object.keys(Env.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  )
  const parsed = Env.safeParse(present)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '')
      return `${i.message} (got ${JSON.stringify(present[name])})`
    })
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  }
  const e = parsed.data
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    jobStatusUrl: e.JOB_STATUS_URL,
    corsOrigin: e.CORS_ORIGIN,
    logLevel: e.LOG_LEVEL,
    cacheMaxStalenessMs: e.CACHE_MAX_STALENESS_MS,
    sseMaxClients: e.SSE_MAX_CLIENTS,
  }
}

/** A URL with its password replaced by `***`, for logs. */
export function redactUrl(value: string): string {
  try {
    const u = new URL(value)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return value
  }
}
