/** The messages between the broker bench and its load-generator threads (lib/load-worker.ts). */

export interface ClientSpec {
  clientId: string;
  username: string;
  password: string;
  /** Publishers: the topic they publish to; idle clients: the topic they subscribe to. */
  topic: string;
}

export type WorkerRequest =
  | { op: 'connectPublishers'; port: number; clients: ClientSpec[]; client: 'raw' | 'mqttjs' }
  | { op: 'blast'; qos: 0 | 1; window: number; batch: number; credit: number }
  | { op: 'pace'; qos: 0 | 1; rate: number; window: number }
  | { op: 'stopSending' }
  | { op: 'closePublishers' }
  | { op: 'connectIdle'; port: number; clients: ClientSpec[]; concurrency: number }
  | { op: 'closeIdle' }
  /** `persistent`: clean session off (the session, and so the hub's persistence, in the path). */
  | { op: 'subscribe'; port: number; client: ClientSpec; qos: 0 | 1; persistent: boolean }
  | { op: 'mark' }
  | { op: 'latencyStart' }
  | { op: 'latencyStop' }
  | { op: 'closeSubscriber' }
  | { op: 'cpu' };

export interface SendCounts {
  sent: number;
  acked: number;
}

export interface Mark {
  received: number;
  atUs: number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Indexes into the Int32Array shared by the bench and its load threads. */
export const RECEIVED = 0;
export const SENT = 1;
export const COUNTERS = 2;
