/** Where a command that reports (`troupe config`, `troupe status`) writes its lines; specs pass their own. */
export interface CommandOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const STANDARD_OUTPUT: CommandOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
