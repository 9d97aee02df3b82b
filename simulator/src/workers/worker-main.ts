// The worker process side: runs one device pool and talks to the coordinator over IPC until told to stop.
import { createDevicePool, type DevicePool } from '../device-pool.js';
import { REPORT_EVERY_MS, type FromWorker, type ToWorker } from './protocol.js';

export async function workerMain(): Promise<number> {
  if (!process.send) {
    process.stderr.write('this command is started by `fleet-sim run --workers K`, not by hand\n');
    return 2;
  }
  const send = (m: FromWorker, then?: () => void) => process.send!(m, undefined, undefined, then);
  let pool: DevicePool | undefined;
  let timer: NodeJS.Timeout | undefined;
  // A coordinator that dies must not leave thousands of connections behind.
  const orphaned = () => process.exit(1);
  process.on('disconnect', orphaned);
  // Ctrl-C reaches the whole process group: the coordinator decides how to stop (it ends the run and still
  // reports), so the workers wait for its 'stop'.
  process.on('SIGINT', () => {});
  return new Promise<number>((resolve) => {
    process.on('message', (m: ToWorker) => {
      handle(m).catch((err: unknown) => send({ type: 'failed', message: (err as Error).stack ?? String(err) }));
    });
    async function handle(m: ToWorker): Promise<void> {
      switch (m.type) {
        case 'start':
          pool = createDevicePool(m.spec);
          await pool.start();
          timer = setInterval(() => send({ type: 'report', report: pool!.report() }), REPORT_EVERY_MS);
          send({ type: 'started' });
          return;
        case 'measure':
          return pool?.measure();
        case 'cutoff':
          return pool?.cutoff();
        case 'cut':
          return pool?.cut(m.ms);
        case 'offer-firmware':
          send({
            type: 'firmware',
            req: m.req,
            verdict: pool ? await pool.offerFirmware(m.deviceId, m.bundle) : 'ERROR: not started',
          });
          return;
        case 'stop': {
          if (!pool) throw new Error('stop before start');
          clearInterval(timer);
          const final = await pool.stop();
          // The final message can be large: leave only once the IPC channel has taken it.
          send({ type: 'final', final }, () => {
            process.off('disconnect', orphaned);
            process.disconnect();
            resolve(0);
          });
          return;
        }
        default:
          throw new Error(`unknown message ${JSON.stringify((m as { type: unknown }).type)}`);
      }
    }
  });
}
