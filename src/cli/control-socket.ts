// What every CLI command that talks to the local agent shares: the --socket option (default
// /run/tsha/control.sock, or $TSHA_CONTROL_SOCKET) and a client that is always closed. Errors keep
// their operator-facing messages (AgentUnreachableError: "no tsha agent reachable at ...; is
// tsha-agent running?"); src/cli/main.ts prints them and exits non-zero.
import type { Command } from 'commander';
import { AgentUnreachableError, ControlClient, ControlRequestError, DEFAULT_CONTROL_SOCKET, type ControlClientOptions } from '../adapters/grpc/control-client.js';

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSHA_CONTROL_SOCKET || DEFAULT_CONTROL_SOCKET;
}

/** Adds `--socket <path>` to a command that talks to the agent. */
export function addSocketOption(cmd: Command): Command {
  return cmd.option('--socket <path>', 'control socket of the local tsha agent ($TSHA_CONTROL_SOCKET)', defaultSocketPath());
}

/** Runs `fn` with a client on `socketPath` and closes the client afterwards, whatever happens. */
export async function withControlClient<T>(
  socketPath: string,
  fn: (client: ControlClient) => Promise<T>,
  opts: Omit<ControlClientOptions, 'socketPath'> = {},
): Promise<T> {
  const client = new ControlClient({ ...opts, socketPath });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/**
 * What a command tells the operator when the agent was not reached or refused the request: the
 * error itself, whose message says why. Anything else is a bug and is thrown again.
 */
export function agentError(e: unknown): AgentUnreachableError | ControlRequestError {
  if (e instanceof AgentUnreachableError || e instanceof ControlRequestError) return e;
  throw e;
}
