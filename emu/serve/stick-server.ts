/**
 * What the usbredir and USB/IP servers share: one stick on a DeviceRunner, a TCP listener
 * (loopback unless a host is named), its connections, and a line of log per connection event.
 *
 * A client is a stranger: it may pipeline requests without end, never read the answers, or hang
 * up with thousands outstanding. So each connection has a budget of transfers the stick holds
 * for it (past which new ones are refused with the protocol's error status), and its socket is
 * not read while its unread answers pile up. Whatever one client does, the process's memory and
 * the work of one turn of the event loop stay bounded, and every other stick and port is served.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Stick } from '../machine/stick.js';
import { DeviceRunner, type DeviceRunnerEvents } from './device-runner.js';

export interface StickServerOptions {
  /** 127.0.0.1 unless given: another address only when the user names it. */
  readonly host?: string;
  /** 0 for any free port (see `address`). */
  readonly port: number;
  /** Each connection's life, one line each. */
  readonly log?: (line: string) => void;
}

/**
 * Transfers the stick may hold for one connection at a time. A real host keeps a few in flight
 * (libusb splitting a 64 MiB transfer into 16 KiB URBs makes 4096); each one ends in a cancel
 * when the client hangs up, so this also bounds the work of a hang-up.
 */
export const MAX_TRANSFERS_IN_FLIGHT = 4096;
/** OUT data the stick may hold for one connection: two transfers of the largest size. */
export const MAX_OUT_BYTES_IN_FLIGHT = 128 << 20;
/** Answers waiting for a client to read them, past which its socket is no longer read. */
export const MAX_UNREAD_OUTPUT = 1 << 20;

export abstract class StickServer {
  readonly runner: DeviceRunner;
  protected readonly log: (line: string) => void;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  protected constructor(
    readonly stick: Stick,
    options: StickServerOptions,
    events: DeviceRunnerEvents,
  ) {
    this.log = options.log ?? (() => {});
    this.runner = new DeviceRunner(stick, events);
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.accept(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    });
  }

  /**
   * Binds the listener; resolves once it listens. When it cannot, the stick's clock is stopped
   * before the error is passed on, so that nothing keeps the process alive.
   */
  protected start(options: StickServerOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', (error) => {
        this.runner.stop();
        reject(error);
      });
      this.server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
    });
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Whether a client holds the device now. */
  abstract get busy(): boolean;

  /** Bytes of answers written to clients and not yet taken by them (or their kernels). */
  get queuedOutputBytes(): number {
    let total = 0;
    for (const socket of this.sockets) total += socket.writableLength;
    return total;
  }

  /** Ends every connection, stops the stick's clock, and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.runner.stop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected abstract accept(socket: Socket, peer: string): void;
}

export interface ClientHandlers {
  /** Bytes from the client. */
  receive(chunk: Buffer): void;
  /** The client has read its backlog: handle what was held back. */
  resume(): void;
  /** The connection ended, however (called once or more: the handler ignores repeats). */
  end(reason: string): void;
}

/**
 * A connection's socket with back-pressure. The protocol asks `mayHandle()` before each
 * request: while more than MAX_UNREAD_OUTPUT bytes of answers wait for the client, the answer
 * is no and the socket is paused; once they have gone out, reading resumes and `resume` runs.
 * TCP then slows a client that does not read, instead of the server queueing its answers.
 */
export class ClientLink {
  private paused = false;

  constructor(
    private readonly socket: Socket,
    private readonly handlers: ClientHandlers,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => handlers.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', (error) => handlers.end(`socket error: ${error.message}`));
    socket.on('end', () => handlers.end('client hung up'));
    socket.on('close', () => handlers.end('client left'));
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Whether another request may be handled now; if not, reading stops until the answers drain. */
  mayHandle(): boolean {
    if (this.socket.writableLength <= MAX_UNREAD_OUTPUT) return true;
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    return false;
  }

  /**
   * Runs `handle` with the socket corked: the answers to a batch of pipelined requests leave in
   * one system call, not one each.
   */
  batch(handle: () => void): void {
    this.socket.cork();
    try {
      handle();
    } finally {
      this.socket.uncork();
    }
  }

  /** Ends the connection; what was sent (also within a batch) goes out first, if it can. */
  destroy(): void {
    while (this.socket.writableCorked > 0) this.socket.uncork();
    this.socket.destroy();
  }

  private drained(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    this.handlers.resume();
  }
}

/**
 * The transfers the stick holds for one connection, within MAX_TRANSFERS_IN_FLIGHT and
 * MAX_OUT_BYTES_IN_FLIGHT. Each `take` that succeeds is matched by one `give` when the transfer
 * ends (its completion always comes, cancelled or not).
 */
export class TransferBudget {
  private count = 0;
  private outBytes = 0;

  /** Takes room for one transfer with `outBytes` of data; false (and nothing taken) when full. */
  take(outBytes: number): boolean {
    if (this.count >= MAX_TRANSFERS_IN_FLIGHT || this.outBytes + outBytes > MAX_OUT_BYTES_IN_FLIGHT) return false;
    this.count++;
    this.outBytes += outBytes;
    return true;
  }

  give(outBytes: number): void {
    this.count--;
    this.outBytes -= outBytes;
  }
}
