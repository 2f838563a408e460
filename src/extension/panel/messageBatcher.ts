// Collects items and hands them over at most once per interval: the panel gets ten
// postMessage calls a second however fast the probe streams. No 'vscode' here, so
// the tests can drive it directly.

export class MessageBatcher<T> {
  private items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastFlushAt = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly deliver: (items: T[]) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(item: T): void {
    this.items.push(item);
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastFlushAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Delivers what is pending now, e.g. before a message that must follow it. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.lastFlushAt = this.now();
    this.deliver(items);
  }

  /** Drops what is pending, for a panel that will get a full snapshot instead. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
  }

  get pending(): number {
    return this.items.length;
  }

  dispose(): void {
    this.clear();
  }
}
