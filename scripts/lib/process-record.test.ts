import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  inspectPidFile,
  isAlive,
  processRecord,
  psRecord,
  readPidFile,
  sameArgv,
  stopProcess,
  writePidFile,
} from './process-record.js'

const dir = mkdtempSync(join(tmpdir(), 'ctr-pid-'))
const children: ReturnType<typeof spawn>[] = []
const sleep = (...args: string[]) => {
  const c = spawn('sleep', args, { stdio: 'ignore' })
  children.push(c)
  return c.pid as number
}
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

describe('process records and pid files', () => {
  it('records a live process by its exact command line and start time', () => {
    const pid = sleep('1000')
    const record = processRecord(pid)
    expect(record).toMatchObject({ pid, argv: ['sleep', '1000'] })
    expect(record && isAlive(record)).toBe(true)
    expect(isAlive({ pid, argv: ['sleep', '100'], startTime: record?.startTime ?? '' })).toBe(false)
    expect(isAlive({ pid, argv: ['sleep', '1000'], startTime: `${record?.startTime}0` })).toBe(false)
    expect(processRecord(2 ** 22 + 1)).toBeNull() // above pid_max: never a process
  })

  it('compares command lines exactly: no prefix, no substring', () => {
    expect(sameArgv(['sleep', '1000'], ['sleep', '1000'])).toBe(true)
    expect(sameArgv(['sleep', '1000'], ['sleep', '10000'])).toBe(false)
    expect(sameArgv(['sleep', '1000'], ['sleep', '1000', '1'])).toBe(false)
    expect(sameArgv(['sleep 1000'], ['sleep', '1000'])).toBe(false)
  })

  it('writes and reads pid files, and tells running, stale and unverifiable ones apart', () => {
    const pid = sleep('1000')
    const file = join(dir, 'a.pid')
    const record = writePidFile(file, pid)
    expect(readPidFile(file)).toEqual({ pid, record })
    expect(inspectPidFile(file)).toEqual({ state: 'running', record })
    writeFileSync(file, `${pid}\n`) // an older version's file: only an exact expected command line proves it
    expect(inspectPidFile(file)).toMatchObject({ state: 'stale', pid })
    expect(inspectPidFile(file, ['sleep', '100'])).toMatchObject({ state: 'stale', pid })
    expect(inspectPidFile(file, ['sleep', '1000'])).toMatchObject({ state: 'running' })
    writeFileSync(file, 'not a pid\n')
    expect(inspectPidFile(file)).toEqual({ state: 'stale', pid: null, other: null })
    expect(inspectPidFile(join(dir, 'none.pid'))).toEqual({ state: 'absent' })
  })

  it('stops a recorded process, kills one that ignores SIGTERM, and never signals a different one', async () => {
    const stoppable = processRecord(sleep('1000'))
    expect(stoppable && (await stopProcess(stoppable, 2000))).toBe('stopped')
    const stubborn = spawn(process.execPath, [
      '-e',
      "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('ready')",
    ])
    children.push(stubborn)
    // (a fixed wait was not enough on a loaded machine: SIGTERM came before the handler was installed)
    await new Promise((r) => stubborn.stdout?.once('data', r))
    const rec = processRecord(stubborn.pid as number)
    const t0 = Date.now()
    expect(rec && (await stopProcess(rec, 500))).toBe('killed')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500)
    const other = sleep('1000')
    const real = processRecord(other)
    const notIt = { pid: other, argv: ['sleep', '1000'], startTime: `${Number(real?.startTime) - 1}` }
    expect(await stopProcess(notIt, 100)).toBe('gone')
    expect(real && isAlive(real)).toBe(true)
  })

  it('without /proc, ps gives a record that tells the same process from another one', () => {
    const pid = sleep('1000')
    const a = psRecord(pid)
    expect(a).toMatchObject({ pid, argv: ['sleep 1000'] })
    expect(psRecord(pid)).toEqual(a)
    const b = psRecord(sleep('10000'))
    expect(b?.argv).toEqual(['sleep 10000'])
  })
})
