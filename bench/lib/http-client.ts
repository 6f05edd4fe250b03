import net from 'node:net';

/** One keep-alive connection that carries one request at a time. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (err: Error) => void } | null = null;
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    const fail = (err: Error) => {
      this.closed = true;
      this.waiting?.reject(err);
      this.waiting = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  send(head: string, body: Buffer | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(body ? Buffer.concat([Buffer.from(head), body]) : head);
    });
  }

  /** Reads one response: the status line, Content-Length, then that many body bytes. */
  private onData(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (!Number.isFinite(length)) {
      this.waiting.reject(new Error('response without Content-Length'));
      this.waiting = null;
      this.socket.destroy();
      return;
    }
    if (this.buffer.length < end + 4 + length) return;
    this.buffer = this.buffer.subarray(end + 4 + length);
    // The server recycles old connections (MAX_CONNECTION_AGE_MS): reconnect for the next request.
    if (/\r\nconnection: *close/i.test(head)) this.closed = true;
    const w = this.waiting;
    this.waiting = null;
    w.resolve(Number(head.slice(9, 12)));
  }
}

/**
 * A keep-alive HTTP/1.1 load client. The load client shares the machine's cores with the
 * server, so it must cost as little CPU per request as it can: it writes each request as one
 * buffer and reads only the status and Content-Length of the answer (undici's fetch cost several
 * times node:http's CPU per request, and node:http several times this).
 */
export class LoadClient {
  private readonly free: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly host: string;
  private readonly port: number;
  private closed = false;

  constructor(base: string) {
    const u = new URL(base);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  /** Sends one request and resolves with its status once the whole body is read. */
  async request(method: 'GET' | 'POST', path: string, body?: string): Promise<number> {
    const bytes = body === undefined ? undefined : Buffer.from(body);
    const head =
      `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n` +
      (bytes ? `content-type: application/json\r\ncontent-length: ${bytes.length}\r\n` : '') +
      '\r\n';
    // A pooled connection the server closed while idle fails at once: retry on a fresh one.
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error('load client closed');
      let c = this.free.pop();
      while (c?.closed) c = this.free.pop();
      c ??= await this.connect();
      try {
        const status = await c.send(head, bytes);
        this.free.push(c);
        return status;
      } catch (err) {
        this.all.delete(c);
        c.socket.destroy();
        if (attempt > 0 || this.closed) throw err;
      }
    }
  }

  private connect(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host, () => {
        socket.off('error', reject);
        const c = new Connection(socket);
        this.all.add(c);
        resolve(c);
      });
      socket.once('error', reject);
    });
  }

  /** Destroys every connection; requests in flight and later ones reject. */
  close(): void {
    this.closed = true;
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.free.length = 0;
  }
}
