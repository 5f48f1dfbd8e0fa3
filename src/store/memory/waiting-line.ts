import { rowOf, stateCode } from './columns.ts';
import type { Columns } from './columns.ts';
import { before, KeyHeap, sweepSlack } from './key-heap.ts';
import { SeqRuns } from './seq-runs.ts';

/**
 * A queue's waiting jobs in lease order: higher priority, then earlier readiness, then lower
 * sequence number. A job that comes after every one before it in that order, as one added now
 * with the usual priority does, joins a line of bare sequence numbers (a `SeqRuns`: 5 bytes a run
 * of up to 256 consecutive ones); only the others go into a heap that carries their keys, 20 bytes
 * each (issue 4). The next job is the earlier of the two fronts.
 *
 * Both delete lazily. A job stops waiting only by being taken from the front of the one holding it,
 * by going for good, or by `forget` (which takes its entries out at once), so an entry in the line is
 * current exactly while its job is waiting; a heap entry while its keys also match.
 */
export class WaitingLine {
  readonly #line = new SeqRuns();
  /** a = −priority, b = when it became ready. */
  readonly #heap = new KeyHeap(2);
  /** The keys of the line's back job: a job joins the line only if it comes after them. */
  #backA = 0;
  #backB = 0;
  #backSeq = 0;

  constructor(private readonly cols: Columns) {}

  push(seq: number, priority: number, readyAt: number): void {
    const a = -priority;
    if (this.#line.length > 0 && before(a, readyAt, seq, this.#backA, this.#backB, this.#backSeq)) {
      this.#heap.push(a, readyAt, seq);
      return;
    }
    this.#line.push(seq);
    this.#backA = a;
    this.#backB = readyAt;
    this.#backSeq = seq;
  }

  /** Takes the next waiting job out, or returns -1. */
  take(): number {
    const line = this.#line;
    const heap = this.#heap;
    while (line.length > 0 && !this.#inLine(line.front)) line.shift();
    while (heap.size > 0 && !this.#inHeap(heap.topA, heap.topB, heap.topSeq)) heap.pop();
    if (line.length === 0 && heap.size === 0) return -1;
    if (heap.size === 0 || (line.length > 0 && this.#precedes(line.front, heap.topSeq))) {
      const seq = line.front;
      line.shift();
      return seq;
    }
    const seq = heap.topSeq;
    heap.pop();
    return seq;
  }

  /** The first `limit` waiting jobs in lease order, after the first `skip` of them. */
  first(limit: number, skip = 0): number[] {
    const fromHeap = this.#heap.smallest(limit + skip, (a, b, seq) => this.#inHeap(a, b, seq));
    // Without jobs out of line the line alone is the order: it passes over `skip` page by page.
    const lineOnly = fromHeap.length === 0;
    const sink = { skip: lineOnly ? skip : 0, out: [] as number[], limit: lineOnly ? limit : limit + skip };
    this.#line.eachRun(
      (from, to) => this.cols.collectInState(from, to, stateCode.waiting, sink),
      () => sink.out.length >= sink.limit,
    );
    return lineOnly ? sink.out : this.#merge(sink.out, fromHeap, limit + skip).slice(skip);
  }

  /** The line's and the heap's jobs, each in lease order, merged: the first `limit`. */
  #merge(fromLine: readonly number[], fromHeap: readonly number[], limit: number): number[] {
    const out: number[] = [];
    let h = 0;
    for (const seq of fromLine) {
      if (out.length >= limit) break;
      for (; h < fromHeap.length && !this.#precedes(seq, fromHeap[h] as number); h++) out.push(fromHeap[h] as number);
      out.push(seq);
    }
    return out.concat(fromHeap.slice(h)).slice(0, limit);
  }

  /**
   * Takes these waiting jobs out of line from wherever they are (a DEQUEUE): a line entry left
   * behind would count as current again once the job waits anew, and hand it out twice.
   */
  forget(seqs: ReadonlySet<number>): void {
    this.#line.filter((seq) => !seqs.has(seq));
    this.#heap.filter((_a, _b, seq) => !seqs.has(seq));
  }

  /** Sweeps out stale entries once they outnumber the `live` waiting jobs. */
  sweep(live: number): void {
    if (this.#heap.size > 2 * live + sweepSlack) this.#heap.filter((a, b, seq) => this.#inHeap(a, b, seq));
    if (this.#line.length > 2 * live + sweepSlack) this.#line.filter((seq) => this.#inLine(seq));
  }

  #inLine(seq: number): boolean {
    return this.cols.state(seq) === stateCode.waiting;
  }

  #inHeap(a: number, b: number, seq: number): boolean {
    if (!this.#inLine(seq)) return false;
    const page = this.cols.page(seq);
    return -page.priority.get(rowOf(seq)) === a && page.availableAt.get(rowOf(seq)) === b;
  }

  /** Whether waiting job `x` comes before waiting job `y`: a current entry's keys are its job's. */
  #precedes(x: number, y: number): boolean {
    const px = this.cols.page(x);
    const py = this.cols.page(y);
    const [rx, ry] = [rowOf(x), rowOf(y)];
    return before(-px.priority.get(rx), px.availableAt.get(rx), x, -py.priority.get(ry), py.availableAt.get(ry), y);
  }
}
