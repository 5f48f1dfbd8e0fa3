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
  /** Commands read and waiting for their turn. */
  readonly #todo: { command: Command; args: readonly Buffer[]; slot: Slot }[] = [];
  #pumping = false;
  /** A flush is due in this turn of the event loop. */
  #flushing = false;
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
    // A client that sends its commands and then shuts its side (`… | nc`, redis-cli --pipe)
    // still gets every reply: the server is half-open, and ends its side once they are written.
    socket.once('end', () => this.end());
    // A reset or a write to a closed socket: the socket closes next, nothing to answer.
    socket.on('error', noop);
    socket.once('close', () => this.#aborter.abort());
  }

  /** Stops reading and wakes a blocked GETJOB: the commands already read are answered, then the socket ends. */
  end(): void {
    this.#ending = true;
    this.#aborter.abort();
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
        this.#fill(this.#slot(true), { error: `ERR Protocol error: ${error.message}` });
        break;
      }
      if (args === null) break;
      if (args.length === 0) continue;
      // QUIT is answered, then the connection ends: nothing after it is read.
      const quit = word(args[0]) === 'quit';
      if (quit) this.#ending = true;
      this.#dispatch(args, this.#slot(quit));
    }
    if (!this.#pumping && this.#todo.length > 0) void this.#pump();
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

  /** A place in line for the next reply. */
  #slot(last: boolean): Slot {
    const slot: Slot = { out: null, last };
    this.#slots.push(slot);
    return slot;
  }

  /** Answers what needs no command at once; queues the rest for the pump. */
  #dispatch(args: readonly Buffer[], slot: Slot): void {
    const name = word(args[0]);
    const command = this.#commands[name];
    if (command === undefined) {
      // Named as the client wrote it, as Disque and Redis do.
      const written = (args[0] as Buffer).toString('utf8');
      return this.#fill(slot, errorOf(new ReplyError('ERR', `unknown command '${written}'`)));
    }
    const { arity } = command;
    if (arity > 0 ? args.length !== arity : args.length < -arity) return this.#fill(slot, errorOf(arityError(name)));
    if (this.#session.principal === undefined && command.open !== true)
      return this.#fill(slot, { error: 'NOAUTH Authentication required.' });
    this.#todo.push({ command, args: args.slice(1), slot });
  }

  /**
   * Runs the queued commands one after the other; commands that overlap (Command.overlaps) start
   * without waiting for each other, and the next other command waits for all of them.
   */
  async #pump(): Promise<void> {
    this.#pumping = true;
    const overlapping = new Set<Promise<void>>();
    for (let next = this.#todo.shift(); next !== undefined; next = this.#todo.shift()) {
      const { command, args, slot } = next;
      if (command.overlaps !== true && overlapping.size > 0) {
        await Promise.all(overlapping);
        overlapping.clear();
      }
      const running = this.#run(command, args, slot);
      if (running === undefined) continue;
      if (command.overlaps === true) overlapping.add(running);
      else await running;
    }
    this.#pumping = false;
  }

  /** Runs one command into its slot: a promise while it has not answered yet. */
  #run(command: Command, args: readonly Buffer[], slot: Slot): Promise<void> | undefined {
    this.#server.commands++;
    try {
      const reply = command.run({ server: this.#server, session: this.#session, args });
      if (!(reply instanceof Promise)) return this.#fill(slot, reply);
      return reply.then(
        (value) => this.#fill(slot, value),
        (error: unknown) => this.#fill(slot, this.#failure(error)),
      );
    } catch (error) {
      return this.#fill(slot, this.#failure(error));
    }
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

  /** Puts the reply in its slot; the replies whose turn has come are written together, soon. */
  #fill(slot: Slot, reply: Reply): undefined {
    slot.out = encode(reply);
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => {
        this.#flushing = false;
        this.#flush();
      });
    }
    return undefined;
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
