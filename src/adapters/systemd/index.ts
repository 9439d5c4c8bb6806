// systemd units as resources over D-Bus (dbus-next). See systemd-agent.ts for the semantics.
export { SystemdAgent, SYSTEM_BUS_ADDRESS, toMonitorResult, unitName, type SystemdAgentOptions } from './systemd-agent.js';
export { SystemdManager, type JobOutcome, type JobResult, type UnitState } from './systemd-manager.js';
export { SharedBus, BusDroppedError, BusCallTimeoutError } from './bus-connection.js';
