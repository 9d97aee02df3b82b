// Opens a server's port: every way this can fail (port in use, address not on this host, unresolvable host, port
// out of range) becomes one FLEET_LISTEN error, never a raw exception.
import type { Server } from 'node:net';
import { FleetError } from './errors.js';

export function listen(
  server: Server,
  host: string,
  port: number,
  what: 'MQTT' | 'HTTPS' | 'device downloads',
): Promise<number> {
  const failed = (err: NodeJS.ErrnoException) =>
    new FleetError('FLEET_LISTEN', `cannot listen for ${what} on ${host}:${port}: ${err.code ?? err.message}`, {
      cause: err,
    });
  return new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(failed(err));
    server.once('error', onError);
    try {
      // A port outside 0–65535 throws here (ERR_SOCKET_BAD_PORT); a host that does not resolve or is not ours
      // comes back as an 'error' event.
      server.listen(port, host, () => {
        server.off('error', onError);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    } catch (err) {
      server.off('error', onError);
      reject(failed(err as NodeJS.ErrnoException));
    }
  });
}
