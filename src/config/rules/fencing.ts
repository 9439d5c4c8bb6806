// Fencing references and coverage, and the quorum mode derived from nodes, witness and fencing.

import { didYouMean, joinPath } from '../issues.js';
import { deriveQuorumMode } from '../quorum-mode.js';
import { type Model, refNode, valid } from './model.js';

export function checkFencing(m: Model): void {
  const { s, ctx } = m;
  if (!valid(s.fencing)) return;
  const f = s.fencing;
  for (const [id, device] of Object.entries(f.devices)) {
    const seen = new Set<string>();
    device.hosts.forEach((host, i) => {
      const path = `${joinPath(joinPath('fencing.devices', id), 'hosts')}[${i}]`;
      refNode(m, host, path);
      if (seen.has(host)) ctx.error(path, `${JSON.stringify(host)} is listed twice`);
      seen.add(host);
    });
    checkPlugs(m, id, device);
  }
  for (const [node, levels] of Object.entries(f.levels)) {
    const nodePath = joinPath('fencing.levels', node);
    refNode(m, node, nodePath);
    levels.forEach((level, i) =>
      level.forEach((deviceId, j) => {
        const path = `${nodePath}[${i}][${j}]`;
        const device = f.devices[deviceId];
        if (!m.deviceIds.has(deviceId)) ctx.error(path, `no fence device named ${JSON.stringify(deviceId)}${didYouMean(deviceId, m.deviceIds)}`);
        else if (device && !device.hosts.includes(node)) {
          ctx.error(path, `fence device ${JSON.stringify(deviceId)} cannot fence ${JSON.stringify(node)}: add it to fencing.devices.${deviceId}.hosts`);
        }
      }),
    );
  }
  if (f.watchdogDevice != null && (!f.enabled || !f.watchdog)) {
    ctx.error(
      'fencing.watchdogDevice',
      `the device is fed by watchdog fencing's rule (healthy agent, lease held), which needs fencing.enabled = true and fencing.watchdog = true; set both, or remove fencing.watchdogDevice`,
    );
  }
  if (!f.enabled) return;
  if (f.watchdog && f.watchdogDevice == null) {
    ctx.warn(
      'fencing.watchdogDevice',
      'fencing.watchdog is on but no watchdog device is configured: nothing resets a node whose agent hangs, so recovery after lease + watchdogMs relies on the agent stopping its resources in time; set "/dev/watchdog" (or give each agent --watchdog-device)',
    );
  }
  const devicesComplete = !ctx.incompleteMaps.has('fencing.devices');
  if (Object.keys(f.devices).length === 0 && !f.watchdog && devicesComplete) {
    ctx.error('fencing', 'fencing is enabled but there is no fence device and fencing.watchdog is false: add devices, enable the watchdog, or set enabled = false (not recommended)');
    return;
  }
  if (!f.watchdog && devicesComplete && valid(s.nodes)) {
    const covered = new Set(Object.values(f.devices).flatMap((d) => d.hosts));
    for (const name of Object.keys(s.nodes)) {
      if (!covered.has(name)) {
        ctx.error(
          joinPath('nodes', name),
          'cannot be fenced: no fence device lists it in hosts and fencing.watchdog is false, so its resources could never be recovered after it is lost',
        );
      }
    }
  }
}

/**
 * Where the agent's plug comes from: hostMap, never the parameters. A `plug` or `port` parameter
 * would fence the same outlet whichever node is meant, so it is refused (not silently dropped).
 */
function checkPlugs(m: Model, id: string, device: { parameters: Record<string, string>; hosts: string[]; hostMap: Record<string, string>; unfence: boolean }): void {
  const { ctx } = m;
  const devicePath = joinPath('fencing.devices', id);
  for (const key of Object.keys(device.parameters)) {
    const path = joinPath(joinPath(devicePath, 'parameters'), key);
    if (key === 'plug' || key === 'port') {
      ctx.error(path, `the plug is set per node: remove it and give fencing.devices.${id}.hostMap = { <node> = ${JSON.stringify(device.parameters[key])}; … } (default: the node name)`);
    } else if (key === 'action') {
      ctx.error(path, 'tsha sets the action itself (off, reboot, monitor, status, list): remove it');
    }
  }
  const mapped = Object.keys(device.hostMap);
  for (const node of mapped) {
    const path = joinPath(joinPath(devicePath, 'hostMap'), node);
    if (!refNode(m, node, path)) continue;
    if (!device.hosts.includes(node)) ctx.error(path, `${JSON.stringify(node)} is not in fencing.devices.${id}.hosts: this device does not fence it`);
    else if (device.hostMap[node]!.trim() === '') ctx.error(path, 'an empty plug: give the node\'s port on this device, or leave the node out of a map that is empty');
  }
  if (mapped.length > 0) {
    for (const host of device.hosts) {
      if (!Object.hasOwn(device.hostMap, host)) ctx.error(joinPath(devicePath, 'hostMap'), `no plug for ${JSON.stringify(host)}, which is in hosts: add ${host} = "<its port on this device>"`);
    }
  }
}

export function checkQuorum(m: Model): void {
  const { s, ctx } = m;
  if (!valid(s.nodes) || ctx.incompleteMaps.has('nodes') || !valid(s.witness) || !valid(s.fencing)) return;
  if (ctx.incompleteMaps.has('fencing.devices')) return;
  const votes = Object.fromEntries(Object.entries(s.nodes).map(([n, node]) => [n, node.votes]));
  const fenceable = new Set(Object.values(s.fencing.devices).flatMap((d) => d.hosts));
  m.quorum = deriveQuorumMode({
    votes,
    hasWitness: s.witness !== null,
    fencingEnabled: s.fencing.enabled,
    watchdog: s.fencing.watchdog,
    fenceableByDevice: fenceable,
  });
  if (!m.quorum.ok) {
    ctx.error(m.quorum.path, m.quorum.reason);
    return;
  }
  if (m.quorum.mode === 'two_node' && valid(s.timing) && s.timing.fenceRaceDelayMs === 0) {
    ctx.error('timing.fenceRaceDelayMs', 'must be > 0 in two_node mode: otherwise both nodes may fence each other at the same moment');
  }
  if (s.noQuorumPolicy === 'fence' && !s.fencing.watchdog) {
    ctx.warn('noQuorumPolicy', '"fence" resets the node through its watchdog; fencing.watchdog is false, so the agent falls back to a forced reboot');
  }
}

export function warnAboutFencing({ s, ctx }: Model): void {
  if (valid(s.fencing) && !s.fencing.enabled) {
    ctx.warn(
      'fencing.enabled',
      'FENCING IS DISABLED: a lost node\'s resources are restarted elsewhere only after its lease and watchdog time ran out, and nothing guarantees the lost node really stopped them',
    );
  }
}
