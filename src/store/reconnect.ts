// How soon a networked store tries again to make a connection it lost (Redis's, PostgreSQL's
// LISTEN one). A job that fell due while the server was down is handed out once the store is
// connected again, so every ms between the server's return and the next try is a ms it is late:
// ioredis 6 doubled its wait up to 5 s (and up to 0.2 s of jitter), so after a minute's outage a
// store found Redis back up to 5.2 s late; the LISTEN connection waited up to 1 s.
//
// Why 200 ms at most is cheap: a try at a port nobody listens on is a SYN answered by a RST, and
// a host that does not answer holds a try for the connect time-out, which this wait follows
// rather than replaces, so a dead host is not hammered. A fleet of processes tries five times a
// second each; what costs a server something is a try it refuses after accepting (PostgreSQL
// starting up or at max_connections forks a backend to say so), a few ms of its CPU a second a
// process. The wait is drawn between half and all of its length, so that processes that lost the
// server together (it restarted) do not all come back in one millisecond: a burst past its listen
// backlog drops the rest's SYNs, which then wait a second for the retransmit.

const stepMs = 50;
/** The longest wait between two tries. */
export const reconnectMaxMs = 200;

/** The wait before the `attempt`th try (1: the first) to connect again: half to all of min(50 × attempt, 200) ms. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  return Math.ceil(Math.min(attempt * stepMs, reconnectMaxMs) * (1 - random() / 2));
}
