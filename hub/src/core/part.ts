/** A part of the hub with a lifecycle; `main` starts parts in order and stops them in reverse. */
export interface Part {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type PartStatus = 'starting' | 'ok' | 'failed' | 'stopped';
