import type { Command } from 'commander';
import { register as registerSimulate } from './simulate.js';

/** Every command module exports `register(program)`; add new ones here, one line each. */
export function registerCommands(program: Command): void {
  registerSimulate(program);
}
