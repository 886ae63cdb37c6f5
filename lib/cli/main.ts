// node-peft's command line: finds the command, runs it, and turns any error into one clear line on stderr
// and a non-zero exit code (--debug prints the stack too). Commands are imported on demand, so `--help`
// works even where the native addon does not load.
import { UsageError } from './args.js';
import type { Command, CommandIO } from './command.js';

const COMMANDS: Record<string, () => Promise<Command>> = {
  demo: async () => (await import('./demo.js')).demoCommand,
  train: async () => (await import('./train.js')).trainCommand,
  predict: async () => (await import('./predict.js')).predictCommand,
  generate: async () => (await import('./generate.js')).generateCommand,
  merge: async () => (await import('./merge.js')).mergeCommand,
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  serve: async () => (await import('./serve-command.js')).serveCommand,
  'install-libtorch': async () => (await import('./install-commands.js')).installLibTorchCommand,
  build: async () => (await import('./install-commands.js')).buildCommand,
  bench: async () => {
    const [{ benchCommand }, { BENCH_USAGE }] = await Promise.all([import('../bench/index.js'), import('../bench/args.js')]);
    return { name: 'bench', usage: BENCH_USAGE, run: (argv) => benchCommand(argv) };
  },
};

const SUMMARIES: Record<string, string> = {
  demo: 'fine-tune a small ViT on handwritten digits at a new image size, end to end',
  train: 'fine-tune a model with LoRA as train.json says (see docs/cli.md)',
  predict: 'run a model (+ adapters) on inputs.safetensors and write its logits',
  generate: 'generate text from a prompt or a chat with a causal LM (+ adapters), optionally streamed',
  merge: 'merge an adapter into its base model and write the full model',
  inspect: "show an adapter's config, tensors and (with --model) what it targets",
  doctor: 'show which binary and LibTorch were loaded (and from where), devices, threads; what to do if not',
  'install-libtorch': 'download LibTorch 2.13 (CPU) into the per-user cache, checksum verified',
  build: 'build the native addon from source (when no prebuilt binary fits this system)',
  serve: 'HTTP JSON inference: one model, adapters loaded, switched and mixed per request',
  bench: 'the benchmark workloads, side by side with Python (bench/WORKLOADS.md)',
};

export function usage(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map((name) => name.length));
  return [
    'usage: node-peft <command> [options]   (node-peft <command> --help for its options)',
    '',
    'commands:',
    ...Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'global options: --debug (print stack traces), --help',
  ].join('\n');
}

/** `node-peft inspect … | head`: a reader that closed the pipe ends the output quietly, not with an EPIPE trace. */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
}

const defaultIO: CommandIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  write: (text) => process.stdout.write(text),
};

/** The message's first lines (a size mismatch per line), at most maxLines. */
function firstLines(message: string, maxLines = 12): string {
  const lines = message.split('\n');
  return lines.length > maxLines ? `${lines.slice(0, maxLines).join('\n')}\n\t... (${lines.length - maxLines} more lines; --debug shows all)` : message;
}

/** Runs node-peft with the arguments after the program name; resolves to the exit code. */
export async function main(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  if (io === defaultIO) endQuietlyOnClosedPipe();
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.err(`node-peft: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let command: Command | undefined;
  try {
    command = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(command.usage);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`node-peft: ${error.message}`);
      if (command) io.err(command.usage);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`node-peft ${name}: ${error instanceof Error && error.name !== 'Error' ? `${error.name}: ` : ''}${firstLines(message)}`);
    if (debug && error instanceof Error && error.stack) io.err(error.stack);
    else io.err('(run with --debug for the stack trace)');
    return 1;
  }
}
