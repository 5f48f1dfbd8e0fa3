// One client socket: bytes in through the parser, commands run (in order, but see
// Command.overlaps), replies out in the order the commands came. Back-pressure both ways: the
// socket stops being read while too many replies are pending or unwritten, so a client that
// pipelines without end, or never reads, holds a bounded amount of this process's memory.
import type { Socket } from 'node:net';
import { errorCodes, SpoolError } from '../../index.ts';
import { arityError, word } from './args.ts';
import type { Command, Server, Session } from './context.ts';
import { ProtocolError, RequestParser } from './parser.ts';
import type { ParserLimits } from './parser.ts';
import { encode, ReplyError } from './reply.ts';
import type { Reply } from './reply.ts';

export interface ConnectionLimits extends ParserLimits {
  /** Commands read but not yet answered; past it the socket is not read. */
  readonly maxPendingReplies: number;
  /** Reply bytes the client has not taken yet; past it the socket is not read. */
  readonly maxOutputBytes: number;
}

export interface RespLogger {
  error(details: object, message: string): void;
}

interface Slot {
  out: Buffer | null;
  /** The connection ends once this reply is written (QUIT, a protocol error). */
  last: boolean;
}

const noop = (): void => {};

export class Connection {
  readonly #socket: Socket;
  readonly #server: Server;
  readonly #commands: Readonly<Record<string, Command>>;
  readonly #limits: ConnectionLimits;
  readonly #log: RespLogger | null;
  readonly #parser: RequestParser;
  readonly #aborter = new AbortController();
  readonly #session: Session;
  readonly #slots: Slot[] = [];
  /** Settles when every command before the last non-overlapping one has. */
  #barrier: Promise<unknown> = Promise.resolve();
  /** Overlapping commands since the last barrier. */
  #group: Promise<unknown>[] = [];
  #reading = true;
  #ending = false;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;

  constructor(
    socket: Socket,
    server: Server,
    commands: Readonly<Record<string, Command>>,
    limits: ConnectionLimits,
    log: RespLogger | null,
  ) {
    this.#socket = socket;
    this.#server = server;
    this.#commands = commands;
    this.#limits = limits;
    this.#log = log;
    this.#parser = new RequestParser(limits);
    this.#session = {
      principal: server.guard.enabled ? undefined : null,
      signal: this.#aborter.signal,
    };
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.#parser.push(chunk);
      this.#read();
    });
    socket.on('drain', () => this.#read());
    // A reset or a write to a closed socket: the socket closes next, nothing to answer.
    socket.on('error', noop);
    socket.once('close', () => this.#aborter.abort());
  }

  /** Stops reading: the commands already read are answered, then the socket ends. */
  end(): void {
    this.#ending = true;
    this.#pause();
    if (this.#slots.length === 0) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #pause(): void {
    if (this.#reading) this.#socket.pause();
    this.#reading = false;
  }

  /** Takes whole commands from the parser while the limits allow, and reads on if they still do. */
  #read(): void {
    while (!this.#ending && this.#slots.length < this.#limits.maxPendingReplies) {
      let args: Buffer[] | null;
      try {
        args = this.#parser.next();
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.#ending = true;
        this.#answer(Promise.resolve({ error: `ERR Protocol error: ${error.message}` }), true);
        break;
      }
      if (args === null) break;
      if (args.length === 0) continue;
      // QUIT is answered, then the connection ends: nothing after it is read.
      const quit = word(args[0]) === 'quit';
      if (quit) this.#ending = true;
      this.#answer(this.#dispatch(args), quit);
    }
    const over =
      this.#ending ||
      this.#slots.length >= this.#limits.maxPendingReplies ||
      this.#socket.writableLength > this.#limits.maxOutputBytes;
    if (over) this.#pause();
    else if (!this.#reading) {
      this.#reading = true;
      this.#socket.resume();
    }
  }

  #dispatch(args: readonly Buffer[]): Promise<Reply> {
    const name = word(args[0]);
    const command = this.#commands[name];
    if (command === undefined) return Promise.resolve(errorOf(new ReplyError('ERR', `unknown command '${name}'`)));
    const { arity } = command;
    if (arity > 0 ? args.length !== arity : args.length < -arity) return Promise.resolve(errorOf(arityError(name)));
    if (this.#session.principal === undefined && command.open !== true)
      return Promise.resolve({ error: 'NOAUTH Authentication required.' });
    const call = { server: this.#server, session: this.#session, args: args.slice(1) };
    const run = async (): Promise<Reply> => {
      this.#server.commands++;
      try {
        return await command.run(call);
      } catch (error) {
        return this.#failure(error);
      }
    };
    if (command.overlaps === true) {
      const running = this.#barrier.then(run);
      this.#group.push(running);
      return running;
    }
    const running = Promise.all([this.#barrier, ...this.#group]).then(run);
    this.#barrier = running;
    this.#group = [];
    return running;
  }

  #failure(error: unknown): Reply {
    if (error instanceof ReplyError || error instanceof SpoolError) {
      const reply = errorOf(error);
      if (!(error instanceof SpoolError) || errorCodes[error.code].httpStatus < 500) return reply;
    }
    this.#log?.error({ err: error }, 'RESP command failed');
    // A 5xx-like message may name a file or directory of the server: it stays in the log.
    const code = error instanceof SpoolError ? error.code : 'INTERNAL';
    return { error: `${errorCodes[code].resp} ${code.toLowerCase()} error; see the server log` };
  }

  /** Keeps the reply's place in line, and writes every reply whose turn has come. */
  #answer(reply: Promise<Reply>, last: boolean): void {
    const slot: Slot = { out: null, last };
    this.#slots.push(slot);
    void reply
      .then(encode)
      .catch((error: unknown) => encode(this.#failure(error)))
      .then((out) => {
        slot.out = out;
        this.#flush();
      });
  }

  #flush(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    socket.cork();
    let end = false;
    while (this.#slots.length > 0 && (this.#slots[0] as Slot).out !== null) {
      const slot = this.#slots.shift() as Slot;
      socket.write(slot.out as Buffer);
      if (slot.last) {
        end = true;
        break;
      }
    }
    socket.uncork();
    if (end) {
      this.#ending = true;
      this.#slots.length = 0;
      socket.end();
      return;
    }
    if (this.#ending && this.#slots.length === 0) socket.end();
    else this.#read();
  }
}

function errorOf(error: ReplyError | SpoolError): Reply {
  const code = error instanceof ReplyError ? error.respCode : errorCodes[error.code].resp;
  return { error: `${code} ${error.message}` };
}
