// From CompiledConfig to mesh transport options: peers are every other node plus the witness,
// DNS names are resolved to the IPs admission compares with, the deadline is one heartbeat.
import { describe, expect, it } from 'vitest';
import type { CompiledConfig } from '../../../src/config/types.js';
import { meshOptionsFromConfig, resolveMeshAddress } from '../../../src/adapters/grpc/mesh-config.js';
import { MeshTransport } from '../../../src/adapters/grpc/mesh-transport.js';
import { captureLogger } from './helpers.js';

function config(): CompiledConfig {
  const node = (name: string, meshAddress: string) => ({ name, meshAddress, wireguardPublicKey: null, votes: 1, attributes: {} });
  return {
    clusterName: 'prod', clusterId: 'prod-1',
    nodes: [node('a', '10.77.0.1:7400'), node('b', 'localhost:7400'), node('c', '[fd00::3]:7400')],
    witness: { name: 'nas', meshAddress: '10.77.0.9:7400', wireguardPublicKey: null },
    quorumMode: 'majority',
    timing: { heartbeatIntervalMs: 150, failureTimeoutMs: 600, electionTimeoutMs: 800, leaseMs: 2000, maxDriftPpm: 500, watchdogMs: 5000, fenceRaceDelayMs: 0, restartGraceMs: 10_000, crashGraceMs: 5000 },
    noQuorumPolicy: 'stop',
    fencing: { enabled: false, devices: [], levels: [], watchdog: false, watchdogDevice: null },
    resources: {}, constraints: { location: [], colocation: [], order: [] }, maintenanceMode: false,
  };
}

describe('mesh options from the compiled configuration', () => {
  it('gives a node every other node and the witness as peers, with names resolved (real resolver for localhost)', async () => {
    const { logger } = captureLogger();
    const o = await meshOptionsFromConfig(config(), 'a', { logger });
    expect(o).toMatchObject({ self: 'a', clusterId: 'prod-1', listen: '10.77.0.1:7400', deliverTimeoutMs: 150 });
    const b = o.peers.find((p) => p.name === 'b')!;
    expect(['127.0.0.1:7400', '[::1]:7400']).toContain(b.meshAddress);
    expect(o.peers.map((p) => p.name)).toEqual(['b', 'c', 'nas']);
    expect(o.peers.find((p) => p.name === 'c')!.meshAddress).toBe('[fd00::3]:7400');
    // and the transport accepts them
    expect(() => new MeshTransport(o)).not.toThrow();
  });

  it('gives the witness the nodes as peers', async () => {
    const o = await meshOptionsFromConfig(config(), 'nas', { logger: captureLogger().logger, lookup: async () => '10.77.0.2' });
    expect(o.listen).toBe('10.77.0.9:7400');
    expect(o.peers.map((p) => `${p.name}=${p.meshAddress}`)).toEqual(['a=10.77.0.1:7400', 'b=10.77.0.2:7400', 'c=[fd00::3]:7400']);
  });

  it('names the field that cannot be resolved, and refuses an unknown self', async () => {
    const failing = async (h: string): Promise<string> => {
      throw new Error(`ENOTFOUND ${h}`);
    };
    await expect(meshOptionsFromConfig(config(), 'a', { logger: captureLogger().logger, lookup: failing }))
      .rejects.toThrow(/^nodes\[1\]\.address: cannot resolve "localhost": ENOTFOUND localhost$/);
    await expect(meshOptionsFromConfig(config(), 'z', { logger: captureLogger().logger })).rejects.toThrow(/self: "z" is neither a node nor the witness/);
    await expect(resolveMeshAddress('nope', 'x')).rejects.toThrow(/x: "nope" is not "host:port"/);
  });
});
