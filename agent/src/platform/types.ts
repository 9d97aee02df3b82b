// The device's outside world as the agent sees it: metrics, and the actions signed commands may take.
// An absent action means the device lacks that capability (commands needing it are refused as unsupported).
export type Metrics = Record<string, number>;

export interface Platform {
  /** CPU load, memory, uptime, disk and temperature where the OS has them. Must not throw. */
  readMetrics(): Promise<Metrics>;
  readonly agentVersion: string;
  readonly firmwareVersion?: string;
  /** Reboots the gateway (returns once the reboot is under way). */
  reboot?(): Promise<void>;
  /** Switches relay `channel` (0–7, already validated). */
  setRelay?(channel: number, on: boolean): Promise<void>;
  /** Sets the thermostat setpoint in °C (5–30, already validated). */
  setSetpoint?(celsius: number): Promise<void>;
}
