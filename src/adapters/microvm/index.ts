// microvm.nix VMs (microvm@<name>.service) through the systemd driver, with readiness checks. See microvm-agent.ts.
export { MicrovmAgent, microvmUnit, FORCE_MARGIN_MS, type MicrovmAgentOptions } from './microvm-agent.js';
