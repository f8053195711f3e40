import { describe, expect, it } from 'vitest'
import { bootstrapServers, clusterLayout, serverProperties } from './kafka-layout.js'

const props = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  )

describe('clusterLayout', () => {
  it('puts 3 nodes on distinct broker and controller ports, bootstrap first on 9092', () => {
    const nodes = clusterLayout(3, '/tmp/k', 9092)
    expect(nodes.map((n) => [n.id, n.brokerPort, n.controllerPort])).toEqual([
      [1, 9092, 9093],
      [2, 9094, 9095],
      [3, 9096, 9097],
    ])
    expect(bootstrapServers(nodes)).toBe('127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096')
    expect(new Set(nodes.map((n) => n.dataDir)).size).toBe(3)
  })

  it('moves every port with the base port', () => {
    const nodes = clusterLayout(3, '/tmp/k', 19092)
    expect(nodes.flatMap((n) => [n.brokerPort, n.controllerPort])).toEqual([19092, 19093, 19094, 19095, 19096, 19097])
  })

  it('configures replication 3 and min ISR 2 with three voters', () => {
    const nodes = clusterLayout(3, '/tmp/k', 9092)
    const p = props(serverProperties(nodes[1]!, nodes))
    expect(p['node.id']).toBe('2')
    expect(p['controller.quorum.voters']).toBe('1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097')
    expect(p.listeners).toBe('PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095')
    expect(p['default.replication.factor']).toBe('3')
    expect(p['min.insync.replicas']).toBe('2')
    expect(p['offsets.topic.replication.factor']).toBe('3')
    expect(p['transaction.state.log.min.isr']).toBe('2')
    expect(p['log.dirs']).toBe(nodes[1]!.dataDir)
  })

  it('configures replication 1 for the single-broker mode', () => {
    const [node] = clusterLayout(1, '/tmp/k', 9092)
    const p = props(serverProperties(node!, [node!]))
    expect(p['controller.quorum.voters']).toBe('1@127.0.0.1:9093')
    expect(p['default.replication.factor']).toBe('1')
    expect(p['min.insync.replicas']).toBe('1')
  })
})
