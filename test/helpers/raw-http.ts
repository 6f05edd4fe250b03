import net from 'node:net';

/** What a raw socket got back: every byte the server wrote, and how long until it closed. */
export interface RawReply {
  status: number | null;
  /** The body after the header block, parsed as JSON when it is JSON. */
  body: unknown;
  text: string;
  closedAfterMs: number;
}

/** A connection to 127.0.0.1:`port`, errors swallowed (a refused or reset socket just closes). */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  }).then((s) => {
    (s as net.Socket).on('error', () => {});
    return s as net.Socket;
  });
}

/**
 * Collects what the server writes on `socket` until it closes (or `limitMs` passes, then the
 * socket is destroyed and closedAfterMs is null-like: Infinity).
 */
export function collect(socket: net.Socket, limitMs: number): Promise<RawReply> {
  const start = performance.now();
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      finish(Infinity);
    }, limitMs);
    const finish = (ms: number) => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const raw = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // not JSON; keep the text
      }
      resolve({ status: status ? Number(status[1]) : null, body, text, closedAfterMs: ms });
    };
    socket.once('close', () => finish(performance.now() - start));
  });
}

/** Sends `bytes` on a fresh connection and collects the reply until the server closes it. */
export async function rawRequest(port: number, bytes: string, limitMs = 5000): Promise<RawReply> {
  const s = await connect(port);
  const reply = collect(s, limitMs);
  s.write(bytes);
  return reply;
}
