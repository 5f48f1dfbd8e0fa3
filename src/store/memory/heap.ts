/** A binary min-heap under `before`; the embedded stores keep their queues in these. */
export class Heap<T> {
  #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (!this.#before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) this.#sink(last, 0);
    return top;
  }

  /** Drops the items `keep` rejects, in O(n); how lazily-deleted entries are swept out. */
  filter(keep: (item: T) => boolean): void {
    this.#items = this.#items.filter(keep);
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#sink(this.#items[i] as T, i);
  }

  /** The first `k` items in heap order that `valid` accepts, without changing the heap. */
  smallest(k: number, valid: (item: T) => boolean): T[] {
    const out: T[] = [];
    const items = this.#items;
    if (items.length === 0) return out;
    const frontier = new Heap<number>((a, b) => this.#before(items[a] as T, items[b] as T));
    frontier.push(0);
    while (out.length < k && frontier.size > 0) {
      const i = frontier.pop() as number;
      const item = items[i] as T;
      if (valid(item)) out.push(item);
      const left = 2 * i + 1;
      if (left < items.length) frontier.push(left);
      if (left + 1 < items.length) frontier.push(left + 1);
    }
    return out;
  }

  values(): readonly T[] {
    return this.#items;
  }

  #sink(item: T, from: number): void {
    const items = this.#items;
    const n = items.length;
    let i = from;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.#before(items[right] as T, items[child] as T)) child = right;
      const c = items[child] as T;
      if (!this.#before(c, item)) break;
      items[i] = c;
      i = child;
    }
    items[i] = item;
  }
}
