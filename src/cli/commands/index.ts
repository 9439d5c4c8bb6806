import type { Command } from 'commander';

/** Every command module exports `register(program)`; add new ones here, one line each. */
export function registerCommands(_program: Command): void {}
