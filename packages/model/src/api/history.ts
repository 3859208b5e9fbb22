/** One bucket of a numeric capability's history. */
export interface HistoryPoint {
  t: number;
  min: number;
  max: number;
  mean: number;
}

/** GET /history: a capability's buckets and the tier (resolution) they were read from. */
export interface HistorySeries {
  tier: string;
  points: HistoryPoint[];
}

/** Energy used in one hour, day or month. */
export interface EnergyBucket {
  t: number;
  start: string;
  kWh: number;
  exact: boolean;
}

/** GET /energy: the buckets of a period and their total (kWh). */
export interface EnergyReport {
  total: number;
  buckets: EnergyBucket[];
}

/** GET /history/storage: how much of its budget the history uses and when it will be full. */
export interface HistoryStorage {
  bytes: number;
  budgetBytes: number;
  usedShare: number;
  growthPerDayBytes: number;
  budgetReachedAt: string | null;
}
