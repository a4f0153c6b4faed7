/**
 * Writes issued in one turn of the event loop leave a socket in one system call:
 * the first write corks the socket and setImmediate uncorks it (after every I/O
 * callback of this turn has run). For sockets owned by client libraries that write
 * each message on its own (ioredis's connection, drachtio-srf's engine connection):
 * under load, one writev and one wake-up of the peer instead of one per message.
 */
interface CorkableSocket {
  cork(): void;
  uncork(): void;
  write: (...args: never[]) => boolean;
}

const coalesced = new WeakSet<object>();

export function coalesceWrites(socket: CorkableSocket): void {
  if (coalesced.has(socket)) return;
  coalesced.add(socket);
  const write = socket.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = function coalescedWrite(this: CorkableSocket, ...args: never[]): boolean {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write.apply(socket, args);
  };
}
