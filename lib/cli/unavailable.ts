// Commands the design names but this build does not have yet: they say so clearly and exit non-zero.
import type { Command } from './command.js';

function unavailable(name: string, what: string): Command {
  return {
    name,
    usage: `usage: node-peft ${name} ...  (${what}; not available in this build of node-peft)`,
    async run(_argv, io) {
      io.err(`node-peft ${name}: ${what} is not available in this build of node-peft yet`);
      return 1;
    },
  };
}

export const serveCommand = unavailable('serve', 'the HTTP inference server');
