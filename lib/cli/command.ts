// The shape of a node-peft command.

/** Where a command writes: `out` for results (stdout), `err` for progress and problems (stderr). */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** Writes to stdout as is (no newline added), for streamed output; commands fall back to `out`. */
  write?(text: string): void;
}

export interface Command {
  name: string;
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}
