/**
 * A one-line progress bar on stderr. On a terminal it redraws in place; elsewhere (CI, a pipe)
 * it prints a line at every quarter so logs stay short.
 */
export class Progress {
  private lastQuarter = -1;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, status: string): void {
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    const secs = ((Date.now() - this.started) / 1000).toFixed(0);
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(done).padStart(String(this.total).length)}/${this.total} ${status} (${secs} s)`;
    if (this.stream.isTTY) {
      const cols = this.stream.columns ?? 100;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
    } else {
      const quarter = Math.floor((done / this.total) * 4);
      if (quarter !== this.lastQuarter) {
        this.lastQuarter = quarter;
        this.stream.write(`${line}\n`);
      }
    }
  }

  /** A message on its own line (the bar is redrawn by the next update). */
  note(message: string): void {
    if (!this.enabled) return;
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${message}\n` : `${message}\n`);
  }

  finish(message: string): void {
    if (!this.enabled) return;
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${message}\n` : `${message}\n`);
  }
}
