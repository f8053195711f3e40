import { z } from 'zod'

/**
 * A configuration problem, with a one-line message naming the variable, the value and what is expected.
 *
 * @example
 * try {
 *   loadConfig({ JOB_PORT: 'abc' }, { applicationId: 'views' })
 * } catch (e) {
 *   if (e instanceof ConfigError) console.error(e.message) // 'JOB_PORT="abc": must be an integer from 0 to 65535'
 * }
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * A zod schema for an integer variable from `min` to `max` (coerced from the string), all failures saying so.
 *
 * @example
 * z.object({ JOB_PORT: envInt(0, 65535).default(8001) })
 */
export const envInt = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be an integer from ${min} to ${max}` })
    .int(`must be an integer from ${min} to ${max}`)
    .min(min, `must be an integer from ${min} to ${max}`)
    .max(max, `must be an integer from ${min} to ${max}`)

/**
 * Parses `env` with `schema`, empty variables counting as unset (as a shell user would expect from `FOO= cmd`);
 * throws a one-line {@link ConfigError} naming the first bad variable and its value.
 *
 * @example
 * const e = parseEnv(z.object({ JOB_PORT: envInt(0, 65535).default(8001) }), process.env)
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = schema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? '')
    throw new ConfigError(`Invalid configuration: ${name}=${JSON.stringify(present[name] ?? '')} ${issue.message}`)
  }
  return parsed.data
}

/** A URL with its credentials masked, for logs and messages: `redis://***@host:6379`. */
export const safeUrl = (url: string): string => url.replace(/\/\/([^@/]*)@/, '//***@')
