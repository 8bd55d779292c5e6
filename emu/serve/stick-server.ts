/**
 * What the usbredir and USB/IP servers share: one stick on a DeviceRunner, a TCP listener
 * (loopback unless a host is named), its connections, and a line of log per connection event.
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

  /** Binds the listener; resolves once it listens. */
  protected start(options: StickServerOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
    });
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Whether a client holds the device now. */
  abstract get busy(): boolean;

  /** Ends every connection, stops the stick's clock, and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.runner.stop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected abstract accept(socket: Socket, peer: string): void;
}

/** A connection's socket wired to its protocol: data in, and one end however it comes. */
export function wireSocket(socket: Socket, receive: (chunk: Buffer) => void, end: (reason: string) => void): void {
  socket.setNoDelay(true);
  socket.on('data', receive);
  socket.on('error', (error) => end(`socket error: ${error.message}`));
  socket.on('end', () => end('client hung up'));
  socket.on('close', () => end('client left'));
}
