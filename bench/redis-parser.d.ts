// The part of redis-parser (no types of its own) that bench/resp-load.ts uses.
declare module 'redis-parser' {
  interface ParserOptions {
    returnReply(reply: unknown): void;
    returnError(error: Error): void;
    returnFatalError?(error: Error): void;
  }
  export default class Parser {
    constructor(options: ParserOptions);
    execute(chunk: Buffer): void;
  }
}
