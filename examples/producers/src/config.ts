import { parseArgs } from 'node:util'
import { z } from 'zod'

/** A product's true click-through rate: one value for all, or spread evenly over a range. */
export type CtrSpec = { readonly min: number; readonly max: number }

/** Validated producer settings. */
export type ProducerConfig = {
  readonly brokers: readonly string[]
  readonly impressionsTopic: string
  readonly clicksTopic: string
  /** Impressions per second (clicks come on top, at each product's CTR). */
  readonly rate: number
  readonly products: number
  readonly users: number
  readonly ctr: CtrSpec
  /** Greatest delay between an impression and its click, ms. */
  readonly clickDelayMs: number
  /** Share of events stamped up to `outOfOrderMaxMs` in the past (within the job's out-of-orderness). */
  readonly outOfOrder: number
  readonly outOfOrderMaxMs: number
  /** Share of events stamped for a window that has fired but is still within allowed lateness. */
  readonly late: number
  /** Share of events stamped for a window already past allowed lateness (DLQ `late_event`). */
  readonly tooLate: number
  /** Share of malformed records (bad JSON, invalid fields, future timestamps). */
  readonly malformed: number
  /** Seconds to run; 0 runs until Ctrl-C. */
  readonly durationS: number
  readonly progressEveryS: number
  readonly seed: number
}

/** One setting: its flag, its environment variable, its default and what it means. */
type Setting = { flag: string; env: string; default: string; help: string }

/** Every setting, in the order `--help` lists them. */
export const SETTINGS = {
  brokers: {
    flag: 'brokers',
    env: 'KAFKA_BROKERS',
    default: '127.0.0.1:9092',
    help: 'bootstrap brokers, comma-separated',
  },
  impressionsTopic: { flag: 'impressions-topic', env: 'IMPRESSIONS_TOPIC', default: 'impressions', help: 'topic' },
  clicksTopic: { flag: 'clicks-topic', env: 'CLICKS_TOPIC', default: 'clicks', help: 'topic' },
  rate: { flag: 'rate', env: 'PRODUCER_RATE', default: '200', help: 'impressions per second' },
  products: { flag: 'products', env: 'PRODUCER_PRODUCTS', default: '20', help: 'number of products p-1..p-N' },
  users: { flag: 'users', env: 'PRODUCER_USERS', default: '1000', help: 'number of users u-1..u-N' },
  ctr: {
    flag: 'ctr',
    env: 'PRODUCER_CTR',
    default: '0.02..0.2',
    help: 'true CTR: 0.05, or a range spread over products',
  },
  clickDelayMs: { flag: 'click-delay-ms', env: 'PRODUCER_CLICK_DELAY_MS', default: '1000', help: 'max click delay' },
  outOfOrder: {
    flag: 'out-of-order',
    env: 'PRODUCER_OUT_OF_ORDER',
    default: '0',
    help: 'share of out-of-order events',
  },
  outOfOrderMaxMs: { flag: 'out-of-order-max-ms', env: 'PRODUCER_OUT_OF_ORDER_MAX_MS', default: '2500', help: 'max' },
  late: { flag: 'late', env: 'PRODUCER_LATE', default: '0', help: 'share of late events within allowed lateness' },
  tooLate: {
    flag: 'too-late',
    env: 'PRODUCER_TOO_LATE',
    default: '0',
    help: 'share of events beyond allowed lateness',
  },
  malformed: { flag: 'malformed', env: 'PRODUCER_MALFORMED', default: '0', help: 'share of malformed records' },
  durationS: { flag: 'duration', env: 'PRODUCER_DURATION', default: '0', help: 'seconds to run, 0 = until Ctrl-C' },
  progressEveryS: { flag: 'progress-every', env: 'PRODUCER_PROGRESS_EVERY', default: '5', help: 'seconds' },
  seed: { flag: 'seed', env: 'PRODUCER_SEED', default: '', help: 'random seed (default: random)' },
} as const satisfies Record<keyof ProducerConfig, Setting>

type Key = keyof typeof SETTINGS

const share = z.coerce.number().min(0, 'must be a share between 0 and 1').max(1, 'must be a share between 0 and 1')
const positive = z.coerce.number().positive('must be a number > 0')
const count = z.coerce.number().int('must be a whole number').min(1, 'must be at least 1')

const ctrSpec = z.string().transform((s, ctx): CtrSpec => {
  const parts = s.split('..').map((p) => p.trim())
  const nums = parts.map((p) => (p === '' ? Number.NaN : Number(p)))
  const ok = (parts.length === 1 || parts.length === 2) && nums.every((n) => Number.isFinite(n) && n >= 0 && n <= 1)
  if (!ok) {
    ctx.addIssue({ code: 'custom', message: 'must be a CTR between 0 and 1 (0.05) or a range (0.02..0.2)' })
    return z.NEVER
  }
  const [a = 0, b = a] = nums
  return { min: Math.min(a, b), max: Math.max(a, b) }
})

const schema = z
  .object({
    brokers: z
      .string()
      .transform((s) => s.split(',').map((b) => b.trim()))
      .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port[,host:port...]')).min(1)),
    impressionsTopic: z.string().min(1, 'must not be empty'),
    clicksTopic: z.string().min(1, 'must not be empty'),
    rate: positive.max(1_000_000, 'must be at most 1000000'),
    products: count.max(1_000_000),
    users: count,
    ctr: ctrSpec,
    clickDelayMs: z.coerce.number().int().min(0, 'must be >= 0'),
    outOfOrder: share,
    outOfOrderMaxMs: z.coerce.number().int().min(1).max(3000, 'must be within the job out-of-orderness of 3000 ms'),
    late: share,
    tooLate: share,
    malformed: share,
    durationS: z.coerce.number().min(0, 'must be >= 0'),
    progressEveryS: positive,
    seed: z
      .string()
      .transform((s) => (s === '' ? Math.floor(Math.random() * 2 ** 31) : Number(s)))
      .pipe(z.number().int('must be a whole number')),
  })
  .refine((c) => c.outOfOrder + c.late + c.tooLate + c.malformed <= 1, {
    path: ['outOfOrder'],
    message: 'out-of-order + late + too-late + malformed shares must add up to at most 1',
  })

/** A setting the user got wrong: `message` is one line naming the flag and the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** The usage text for `--help`. */
export function usage(): string {
  const lines = Object.values(SETTINGS).map(
    (s: Setting) =>
      `  --${s.flag.padEnd(20)} ${s.env.padEnd(28)} ${s.help}${s.default ? ` (default ${s.default})` : ''}`,
  )
  return [
    'Usage: pnpm producers [--flag value ...]   (each flag also reads the environment variable shown)',
    ...lines,
  ].join('\n')
}

/**
 * Reads settings from flags (first) and the environment, validates them.
 * Throws a {@link ConfigError} with a one-line message on the first bad value.
 *
 * @example
 * loadConfig(['--rate', '500', '--ctr', '0.1'], process.env).rate // 500
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ProducerConfig {
  const options = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }]))
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (e) {
    throw new ConfigError(`${(e as Error).message.split('\n')[0]} (see pnpm producers --help)`)
  }
  const raw = Object.fromEntries(
    (Object.keys(SETTINGS) as Key[]).map((k) => {
      const s: Setting = SETTINGS[k]
      const v = values[s.flag] ?? env[s.env] ?? s.default
      return [k, typeof v === 'string' ? v : s.default]
    }),
  )
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const key = issue.path[0] as Key
    const s: Setting = SETTINGS[key]
    throw new ConfigError(`invalid --${s.flag} (${s.env}=${JSON.stringify(raw[key])}): ${issue.message}`)
  }
  return parsed.data
}
