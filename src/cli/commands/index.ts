import type { Command } from 'commander';
import { register as registerConfigCheck } from './config-check.js';
import { register as registerSimulate } from './simulate.js';

/** Every command module exports `register(program)`; add new ones here, one line each. */
export function registerCommands(program: Command): void {
  registerConfigCheck(program);
  registerSimulate(program);
}
