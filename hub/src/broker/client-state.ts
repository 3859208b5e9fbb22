import type { Client } from 'aedes';
import type { Principal } from './credentials.ts';

/** What the hub keeps on each aedes client (set in preConnect, completed in authenticate). */
export interface ConnState {
  /** The CONNECT carried a zero-byte client id (aedes then generated one). */
  emptyId: boolean;
  willTopic: string | undefined;
  principal: Principal | undefined;
  /** Cleanup on disconnect ran (it can be reached from two events). */
  released: boolean;
}

/**
 * An aedes client with the fields we read or replace. Underscored members are aedes 1.2
 * internals (pinned in package.json); each use says why it is needed.
 */
export type HearthClient = Client & {
  hearth?: ConnState;
  /** The Last Will as received in CONNECT; aedes passes this same object to authorizePublish. */
  will?: unknown;
  /** Set when the client sent DISCONNECT, i.e. its will is discarded [MQTT-3.14.4-3]. */
  _disconnected?: boolean;
  _parser: MqttParserInternals;
  /** The client's live subscriptions: filter → granted QoS (and MQTT 5 options). */
  subscriptions: Record<string, { qos: number }>;
  /** Reads and parses what is waiting on the connection (aedes' counterpart of `pause()`); see intake.ts. */
  resume(): void;
  /** Called by aedes when a write found the socket buffer full. */
  waitForDrain: (done: (err: Error | null, client: unknown) => void) => void;
};

export interface MqttParserInternals {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}
