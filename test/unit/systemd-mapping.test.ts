// The pure parts of the systemd adapter: unit state → monitor result, and unit name checks.
import { describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../src/ports/resource-agent.js';
import { toMonitorResult, unitName, type UnitState } from '../../src/adapters/systemd/index.js';

const st = (activeState: string, extra: Partial<UnitState> = {}): UnitState => ({
  path: '/u', loadState: 'loaded', activeState, subState: 'x', loadError: null, result: 'success', mainPid: 0, statusText: null, restarts: 0, ...extra,
});

describe('toMonitorResult', () => {
  it.each([
    ['active', { status: 'ok', state: 'running', running: true, role: 'started' }],
    ['reloading', { status: 'ok', state: 'running', running: true }],
    ['activating', { status: 'ok', state: 'starting', running: true }],
    ['deactivating', { status: 'ok', state: 'stopping', running: true }],
    ['inactive', { status: 'ok', state: 'stopped', running: false }],
    ['failed', { status: 'error', state: 'failed', running: false }],
    ['maintenance', { status: 'error', state: 'running', running: true }],
  ])('%s', (active, expected) => {
    expect(toMonitorResult('a.service', st(active))).toMatchObject(expected);
  });
  it('starting and stopping count as running: processes may exist (one active copy)', () => {
    expect(toMonitorResult('a.service', st('activating', { subState: 'auto-restart' })).running).toBe(true);
  });
  it('carries MainPID for re-adoption, and Result= for a failure', () => {
    expect(toMonitorResult('a.service', st('active', { mainPid: 1234 })).mainPid).toBe(1234);
    expect(toMonitorResult('a.service', st('failed', { result: 'exit-code' })).reason).toBe('a.service failed (Result=exit-code)');
  });
  it('not-found and not running → notInstalled; not-found but still running (file deleted) is running', () => {
    expect(toMonitorResult('a.service', st('inactive', { loadState: 'not-found' }))).toMatchObject({ status: 'notInstalled', running: false });
    expect(toMonitorResult('a.service', st('active', { loadState: 'not-found', mainPid: 7 }))).toMatchObject({ status: 'ok', running: true, mainPid: 7 });
  });
});

describe('unitName', () => {
  const ref = (unit?: string): ResourceRef => ({ id: 'r', kind: 'systemd', params: unit === undefined ? {} : { unit } });
  it('accepts unit names, and adds .service like systemctl', () => {
    expect(unitName(ref('web.service'))).toEqual({ ok: true, unit: 'web.service' });
    expect(unitName(ref('getty@tty1.service'))).toEqual({ ok: true, unit: 'getty@tty1.service' });
    expect(unitName(ref('web'))).toEqual({ ok: true, unit: 'web.service' });
    expect(unitName(ref('my.app'))).toEqual({ ok: true, unit: 'my.app.service' });
    expect(unitName(ref('data.mount'))).toEqual({ ok: true, unit: 'data.mount' });
  });
  it('refuses a missing or invalid name with the parameter path', () => {
    expect(unitName(ref())).toEqual({ ok: false, result: { status: 'errorFatal', reason: 'resources.r.params.unit: missing' } });
    expect(unitName(ref('../etc/passwd'))).toMatchObject({ ok: false, result: { status: 'errorFatal' } });
    expect(unitName(ref('a b.service'))).toMatchObject({ ok: false });
  });
});
