import { randomBytes } from 'node:crypto';
import { HubError } from '../core/errors.ts';

/** A camera's main stream (what is recorded) or its sub stream (lower resolution). */
export type LiveStreamName = 'main' | 'sub';

/**
 * Permissions to fetch one camera's HLS until a session's access token expires. Native HLS
 * players cannot send an Authorization header, so the playlist, init and segment URLs carry a
 * ticket; an access token in a URL would open the whole API to whoever reads a log.
 */
export class HlsTickets {
  readonly #tickets = new Map<string, { cameraId: string; stream: LiveStreamName; expiresAt: number }>();

  issue(cameraId: string, stream: LiveStreamName, expiresAt: number, now: number): string {
    for (const [t, v] of this.#tickets) if (v.expiresAt <= now) this.#tickets.delete(t);
    const ticket = randomBytes(24).toString('base64url');
    this.#tickets.set(ticket, { cameraId, stream, expiresAt });
    return ticket;
  }

  /**
   * The stream (main or sub) the ticket opens; throws `unauthorized` for an unknown or expired
   * ticket or one of another camera.
   */
  check(cameraId: string, ticket: string, now: number): LiveStreamName {
    const granted = this.#tickets.get(ticket);
    if (!granted || granted.cameraId !== cameraId || granted.expiresAt <= now)
      throw new HubError('unauthorized', 'no valid HLS ticket for this camera');
    return granted.stream;
  }
}
