import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The run directory is read at import: point it at a temporary one first.
process.env.CTR_RUN_DIR = mkdtempSync(join(tmpdir(), 'ctr-run-'))
const bg = await import('./background.js')
const sleeper = { name: 'sleeper', entry: 'scripts/lib/fixtures/sleeper.ts' }
const ready = async (log: string) => log.includes('sleeper up')

describe('background services', () => {
  beforeAll(async () => {
    await bg.stopService(sleeper)
  })
  afterAll(async () => {
    await bg.stopService(sleeper)
  })

  it('starts once, reports the running pid, stops, and says when there is nothing to stop', async () => {
    const first = await bg.startService(sleeper, { ready, timeoutMs: 20_000 })
    expect(first.state).toBe('started')
    const pid = first.state === 'started' ? first.pid : -1
    expect(bg.runningPid(sleeper)).toBe(pid)
    expect(await bg.startService(sleeper, { ready })).toEqual({ state: 'already-running', pid })
    expect(await bg.stopService(sleeper)).toBe('stopped')
    expect(bg.runningPid(sleeper)).toBeNull()
    expect(existsSync(bg.pidFile('sleeper'))).toBe(false)
    expect(bg.tail(bg.logFile('sleeper'))).toContain('sleeper stopping')
    expect(await bg.stopService(sleeper)).toBe('not-running')
  }, 30_000)

  it('removes a stale pid file, and does not take a reused pid for the service', async () => {
    writeFileSync(bg.pidFile('sleeper'), `${process.pid}\n`) // alive, but not the sleeper
    expect(bg.runningPid(sleeper)).toBeNull()
    expect(await bg.stopService(sleeper)).toBe('stale-pid-file')
    expect(existsSync(bg.pidFile('sleeper'))).toBe(false)
  })

  it('does not take a process whose command line merely contains the entry for the service, nor stop it', async () => {
    // e.g. an editor open on the entry file, at the pid an older version's pid file (the pid alone) names
    const impostor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', sleeper.entry], { stdio: 'ignore' })
    try {
      await new Promise((r) => setTimeout(r, 300))
      writeFileSync(bg.pidFile('sleeper'), `${impostor.pid}\n`)
      expect(bg.runningPid(sleeper)).toBeNull()
      expect(await bg.stopService(sleeper, 1000)).toBe('stale-pid-file')
      expect(impostor.exitCode === null && impostor.signalCode === null).toBe(true)
    } finally {
      impostor.kill('SIGKILL')
    }
  })

  it('still finds a service from an older pid file (the pid alone) when its command line is exactly the service', async () => {
    const { command, args } = bg.serviceArgv(sleeper)
    const older = spawn(command, args, { stdio: 'ignore' })
    try {
      await new Promise((r) => setTimeout(r, 300))
      writeFileSync(bg.pidFile('sleeper'), `${older.pid}\n`)
      expect(bg.runningPid(sleeper)).toBe(older.pid)
    } finally {
      // gone, and its pid file with it, before the next test starts the service (else: 'already-running')
      const exited = new Promise((r) => older.once('exit', r))
      older.kill('SIGKILL')
      await exited
      rmSync(bg.pidFile('sleeper'), { force: true })
    }
  })

  it('reports a service that dies at start with the end of its log', async () => {
    const r = await bg.startService({ ...sleeper, env: { SLEEPER_FAIL: '1' } }, { ready, timeoutMs: 20_000 })
    expect(r).toMatchObject({ state: 'died', code: 3 })
    expect(r.state === 'died' && r.tail).toContain('boom: cannot start')
    expect(existsSync(bg.pidFile('sleeper'))).toBe(false)
  }, 30_000)
})

describe('readableLine', () => {
  it('shortens pino JSON lines to level and message, and leaves other lines alone', () => {
    expect(bg.readableLine('{"level":40,"time":1,"msg":"redis down","err":"ECONNREFUSED"}')).toBe(
      'warn: redis down (ECONNREFUSED)',
    )
    expect(bg.readableLine('{"level":30,"msg":"stopped"}')).toBe('info: stopped')
    expect(bg.readableLine('[producers] sent 10')).toBe('[producers] sent 10')
    expect(bg.readableLine('{not json')).toBe('{not json')
  })
})

describe('serviceArgv', () => {
  it('runs a TypeScript entry with the tsx loader and a bundled one with node alone', async () => {
    const bg = await import('./background.js')
    const ts = bg.serviceArgv({ name: 'x', entry: 'a/main.ts', nodeArgs: ['--max-old-space-size=64'] }, ['/w.mjs'])
    expect(ts.args.slice(0, 2)).toEqual(['--max-old-space-size=64', '--import'])
    expect(ts.args[2]).toMatch(/tsx/)
    expect(ts.args.slice(3)).toEqual(['--import', '/w.mjs', expect.stringMatching(/a\/main\.ts$/)])
    const js = bg.serviceArgv({ name: 'x', entry: '.build/job.mjs', args: ['--until-end'] }, ['/w.mjs'])
    expect(js.args).toEqual(['--import', '/w.mjs', expect.stringMatching(/\.build\/job\.mjs$/), '--until-end'])
  })
})
