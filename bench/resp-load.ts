// The load client of bench/disque.ts: one socket, commands written as one buffer of RESP, replies
// read with redis-parser and handed back in order. A general client (ioredis) spends more CPU a
// command than the servers it measures: with 50 of them on this 2-core machine every target ran at
// the clients' pace, a node server answering canned replies as fast as disque-server, so the
// figures compared the clients with themselves. This one does next to nothing a command, so the
// server is what the figures measure.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import Parser from 'redis-parser';

/** One command as RESP, to be sent alone or repeated in a pipeline. */
export function command(...args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

interface Pending {
  readonly replies: unknown[];
  readonly count: number;
  resolve(replies: unknown[]): void;
  reject(error: Error): void;
}

export class LoadClient {
  readonly #socket: Socket;
  readonly #pending: Pending[] = [];
  readonly #parser = new Parser({
    returnReply: (reply) => this.#answer(reply),
    returnError: (error) => this.#answer(error),
    returnFatalError: (error) => this.#fail(error),
  });

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#parser.execute(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('the server closed the connection')));
  }

  static connect(port: number): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LoadClient(socket));
      });
    });
  }

  /** Writes `commands` (`count` of them, as `command` encodes them) and resolves with their replies; an error reply rejects. */
  send(commands: string, count = 1): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ replies: [], count, resolve, reject });
      this.#socket.write(commands);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #answer(reply: unknown): void {
    const pending = this.#pending[0];
    if (pending === undefined) return this.#fail(new Error('a reply to no command'));
    pending.replies.push(reply);
    if (pending.replies.length < pending.count) return;
    this.#pending.shift();
    const error = pending.replies.find((r) => r instanceof Error);
    if (error instanceof Error) pending.reject(error);
    else pending.resolve(pending.replies);
  }

  #fail(error: Error): void {
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }
}
