/** A one-line progress bar on stderr; on a pipe it prints only the final line. */
export class ProgressBar {
  private lastDrawn = -1;
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, unit: (n: number) => string = kib): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const percent = Math.floor(fraction * 100);
    if (!this.stream.isTTY) {
      if (fraction === 1 && this.lastDrawn !== 100) this.stream.write(`${this.label} ${unit(done)}/${unit(total)} 100%\n`);
      this.lastDrawn = percent;
      return;
    }
    if (percent === this.lastDrawn) return;
    this.lastDrawn = percent;
    const width = 30;
    const filled = Math.round(fraction * width);
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${unit(done)}/${unit(total)}`);
    if (fraction === 1) this.stream.write('\n');
  }
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function count(n: number): string {
  return String(n);
}
