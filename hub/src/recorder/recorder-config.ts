export interface RecorderConfig {
  segmentSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Most bytes all segments may take (counting the ones being written); 0 = no byte limit. */
  budgetBytes: number;
  /** Free space the volume keeps: below it the oldest footage goes; with none left, recording stops. */
  minFreeBytes: number;
  maintenanceIntervalMs: number;
  /** Playback/export ffmpegs one user may run at once, and all users together. */
  exportsPerUser: number;
  exportsTotal: number;
  /** Most bytes the export files (a cache of built ranges) may take, only ever above the floor. */
  exportBudgetBytes: number;
}

export const DEFAULT_RECORDER_CONFIG: RecorderConfig = {
  segmentSeconds: 4,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  budgetBytes: 0,
  minFreeBytes: 1024 ** 3,
  maintenanceIntervalMs: 60_000,
  exportsPerUser: 2,
  exportsTotal: 4,
  // An hour of a 4 Mbit/s camera (the longest range) is ~1.8 GB; of an 8 Mbit/s one ~3.6 GB.
  exportBudgetBytes: 4 * 1024 ** 3,
};
