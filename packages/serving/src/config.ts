import { z } from 'zod'

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

const Env = z.object({
  PORT: z.coerce
    .number({ error: 'PORT must be a port number' })
    .int('PORT must be an integer')
    .min(1, 'PORT must be between 1 and 65535')
    .max(65535, 'PORT must be between 1 and 65535')
    .default(8000),
  HOST: z.string().min(1, 'HOST must not be empty').default('0.0.0.0'),
  REDIS_URL: url('REDIS_URL', ['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  JOB_STATUS_URL: url('JOB_STATUS_URL', ['http:', 'https:']).default('http://127.0.0.1:8001/status'),
  CORS_ORIGIN: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
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
}

/** Thrown for an invalid environment; its message is one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads and validates the configuration: `PORT` (8000), `HOST` (0.0.0.0), `REDIS_URL` (redis://127.0.0.1:6379,
 * a database number in the path is honoured), `JOB_STATUS_URL` (http://127.0.0.1:8001/status), `CORS_ORIGIN`
 * (unset: no CORS), `LOG_LEVEL` (info). Empty variables count as unset.
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
