import type { Logger } from 'pino';
import type { Backplane } from './backplane/backplane.ts';
import type { Clock } from './clock.ts';
import type { RelayLimits } from './limits.ts';
import type { NodeMsgKind } from './node-messages.ts';
import type { WebApp } from './web-app.ts';

export interface RelayNodeDeps {
  backplane: Backplane;
  log: Logger;
  limits: RelayLimits;
  /** Every timer and timestamp of the node and its connections (systemClock in main.ts). */
  clock: Clock;
  /** The web app for remote browsers (`--ui DIR`); without it the node serves no pages. */
  webApp?: WebApp;
}

/**
 * What a hub tunnel or a device connection asks of the node it runs on (relay-node.ts implements
 * it): declared here so that the connections do not import the node that creates them.
 */
export interface NodeHost {
  readonly deps: RelayNodeDeps;
  readonly nodeId: string;
  /** Sends to the node `node` (this one included) through the backplane; a promise if it may not arrive. */
  sendToNode(
    node: string,
    kind: NodeMsgKind,
    session: number,
    hubId: string,
    payload?: Uint8Array,
  ): true | Promise<boolean>;
}
