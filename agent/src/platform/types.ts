// The device's outside world as the agent sees it: metrics now; commands and updates act through it later.
export type Metrics = Record<string, number>;

export interface Platform {
  /** CPU load, memory, uptime, disk and temperature where the OS has them. Must not throw. */
  readMetrics(): Promise<Metrics>;
  readonly agentVersion: string;
  readonly firmwareVersion?: string;
}
