// A real TLS ClientHello (node's own client), captured on a plain TCP server, for half-open handshake tests.
import { createServer } from 'node:net';
import { connect } from 'node:tls';

export async function captureClientHello(): Promise<Buffer> {
  const server = createServer();
  const hello = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) =>
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
      }),
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
  client.on('error', () => {}); // the capture server hangs up
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      hello,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no ClientHello within 5 s')), 5000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.destroy();
    server.close();
  }
}

/** The first half of a ClientHello: the server has read a record header and waits for the rest. */
export async function halfClientHello(): Promise<Buffer> {
  const hello = await captureClientHello();
  return hello.subarray(0, Math.floor(hello.length / 2));
}
