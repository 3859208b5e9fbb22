export interface RecorderConfig {
  segmentSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Most bytes all segments may take (counting the ones being written); 0 = no byte limit. */
  budgetBytes: number;
  /** Free space the volume keeps: below it the oldest footage goes; with none left, recording stops. */
  minFreeBytes: number;
  maintenanceIntervalMs: number;
}

export const DEFAULT_RECORDER_CONFIG: RecorderConfig = {
  segmentSeconds: 4,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  budgetBytes: 0,
  minFreeBytes: 1024 ** 3,
  maintenanceIntervalMs: 60_000,
};
