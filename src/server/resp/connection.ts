// One client socket: bytes in through the parser, commands run (in order, but see
// Command.overlaps), replies out in the order the commands came. Back-pressure both ways: the
// socket stops being read while too many replies are pending or unwritten, so a client that
// pipelines without end, or never reads, holds a bounded amount of this process's memory.
import type { Socket } from 'node:net';
import { errorCodes, SpoolError } from '../../index.ts';
import { arityError } from './args.ts';
import type { Command, Server, Session } from './context.ts';
import { HandedOut } from './handed-out.ts';
import { RecentNames } from './names.ts';
import { ProtocolError, RequestParser } from './parser.ts';
import type { ParserLimits } from './parser.ts';
import { encode, ReplyError } from './reply.ts';
import type { Reply } from './reply.ts';
import type { Turn } from './turn.ts';

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
  out: string | Buffer | null;
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
  readonly #turn: Turn;
  readonly #parser: RequestParser;
  readonly #aborter = new AbortController();
  readonly #session: Session;
  readonly #slots: Slot[] = [];
  /** Commands read and waiting for their turn. */
  readonly #todo: { command: Command; args: readonly Buffer[]; overlaps: boolean; slot: Slot }[] = [];
  /** Commands started and not answered yet: any number that overlap, or one that does not. */
  #running = 0;
  /** The one command running does not overlap: everything after it waits. */
  #exclusive = false;
  /** A flush is due in this turn of the event loop. */
  #flushing = false;
  /** A read of what the parser holds is due in this turn. */
  #readDue = false;
  #reading = true;
  #ending = false;
  readonly #names = new RecentNames();
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;

  constructor(
    socket: Socket,
    server: Server,
    commands: Readonly<Record<string, Command>>,
    limits: ConnectionLimits,
    log: RespLogger | null,
    turn: Turn,
  ) {
    this.#socket = socket;
    this.#server = server;
    this.#commands = commands;
    this.#limits = limits;
    this.#log = log;
    this.#turn = turn;
    this.#parser = new RequestParser(limits);
    this.#session = {
      principal: server.guard.enabled ? undefined : null,
      signal: this.#aborter.signal,
      handedOut: new HandedOut(),
      name: null,
    };
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.#parser.push(chunk);
      if (!this.#readDue) {
        this.#readDue = true;
        this.#turn.later(this.#readNow);
      }
    });
    socket.on('drain', () => this.#read());
    // A client that sends its commands and then shuts its side (`… | nc`, redis-cli --pipe)
    // still gets every reply: the server is half-open, and ends its side once they are written.
    socket.once('end', () => {
      // What came with the end is still read and answered, not dropped by end()'s stop.
      if (this.#readDue) this.#readNow();
      this.end();
    });
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

  readonly #readNow = (): void => {
    this.#readDue = false;
    this.#read();
  };

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
      // The name taken off the parser's own array: the command gets the rest without a copy.
      const written = args.shift();
      if (written === undefined) continue;
      const name = this.#names.of(written);
      // QUIT is answered, then the connection ends: nothing after it is read.
      const quit = name === 'quit';
      if (quit) this.#ending = true;
      this.#dispatch(name, written, args, this.#slot(quit));
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

  /** A place in line for the next reply. */
  #slot(last: boolean): Slot {
    const slot: Slot = { out: null, last };
    this.#slots.push(slot);
    return slot;
  }

  /**
   * Answers what needs no command at once; runs the rest, or queues them while they must wait.
   * `written`: the name as the client wrote it; `args`: the arguments after it.
   */
  #dispatch(name: string, written: Buffer, args: readonly Buffer[], slot: Slot): void {
    const command = this.#commands[name];
    if (command === undefined) {
      // Named as the client wrote it, as Disque and Redis do.
      return this.#fill(slot, errorOf(new ReplyError('ERR', `unknown command '${written.toString('utf8')}'`)));
    }
    const { arity } = command;
    const words = args.length + 1;
    if (arity > 0 ? words !== arity : words < -arity) return this.#fill(slot, errorOf(arityError(name)));
    if (this.#session.principal === undefined && command.open !== true)
      return this.#fill(slot, { error: 'NOAUTH Authentication required.' });
    const overlaps = typeof command.overlaps === 'function' ? command.overlaps(args) : command.overlaps === true;
    if (this.#todo.length === 0 && this.#free(overlaps)) this.#run(command, args, overlaps, slot);
    else this.#todo.push({ command, args, overlaps, slot });
  }

  /**
   * Whether a command may start now. Commands that overlap (Command.overlaps) start without
   * waiting for each other; any other command waits for everything before it, and everything
   * after it waits for it.
   */
  #free(overlaps: boolean): boolean {
    return this.#running === 0 || (overlaps && !this.#exclusive);
  }

  /** Starts the queued commands in order until one must wait. */
  #pump(): void {
    for (let next = this.#todo[0]; next !== undefined && this.#free(next.overlaps); next = this.#todo[0]) {
      this.#todo.shift();
      this.#run(next.command, next.args, next.overlaps, next.slot);
    }
  }

  /** Runs one command into its slot, at once when it answers at once. */
  #run(command: Command, args: readonly Buffer[], overlaps: boolean, slot: Slot): void {
    this.#server.commands++;
    let reply: Reply | Promise<Reply>;
    try {
      reply = command.run({ server: this.#server, session: this.#session, args });
    } catch (error) {
      return this.#fill(slot, this.#failure(error));
    }
    if (!(reply instanceof Promise)) return this.#fill(slot, reply);
    this.#running++;
    if (!overlaps) this.#exclusive = true;
    reply.then(
      (value) => this.#answered(slot, value),
      (error: unknown) => this.#answered(slot, this.#failure(error)),
    );
  }

  #answered(slot: Slot, reply: Reply): void {
    this.#fill(slot, reply);
    this.#running--;
    this.#exclusive = false;
    if (this.#todo.length > 0) this.#pump();
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
      this.#turn.soon(this.#flush);
    }
    return undefined;
  }

  /** Writes the replies whose turn has come: the text ones joined, so mostly one write a turn. */
  readonly #flush = (): void => {
    this.#flushing = false;
    const socket = this.#socket;
    if (socket.destroyed) return;
    let end = false;
    let text = '';
    // Corked only once a Buffer comes: a turn of text replies is one write, which cork's
    // buffering would only delay to uncork (issue 17).
    let corked = false;
    while (this.#slots.length > 0 && (this.#slots[0] as Slot).out !== null) {
      const slot = this.#slots.shift() as Slot;
      const out = slot.out as string | Buffer;
      if (typeof out === 'string') text += out;
      else {
        if (!corked) socket.cork();
        corked = true;
        if (text !== '') socket.write(text);
        text = '';
        socket.write(out);
      }
      if (slot.last) {
        end = true;
        break;
      }
    }
    if (text !== '') socket.write(text);
    if (corked) socket.uncork();
    if (end) {
      this.#ending = true;
      this.#slots.length = 0;
      socket.end();
      return;
    }
    if (this.#ending && this.#slots.length === 0) socket.end();
    else this.#read();
  };
}

function errorOf(error: ReplyError | SpoolError): Reply {
  const code = error instanceof ReplyError ? error.respCode : errorCodes[error.code].resp;
  return { error: `${code} ${error.message}` };
}
