import type { Command } from 'commander';
import { register as registerConfigCheck } from './config-check.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerAgent } from './agent.js';
import { register as registerWitness } from './witness.js';
import { register as registerStatus } from './status.js';
import { register as registerResource } from './resource.js';
import { register as registerNode } from './node.js';
import { register as registerPlan } from './plan.js';
import { register as registerHistory } from './history.js';
import { register as registerDrbd } from './drbd.js';
import { register as registerFence } from './fence.js';

/** Every command module exports `register(program)`; add new ones here, one line each. */
export function registerCommands(program: Command): void {
  registerConfigCheck(program);
  registerSimulate(program);
  registerAgent(program);
  registerWitness(program);
  registerStatus(program);
  registerResource(program);
  registerNode(program);
  registerPlan(program);
  registerHistory(program);
  registerDrbd(program);
  registerFence(program);
}
