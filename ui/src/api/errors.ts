/** An API failure: the hub's stable code plus what to tell a person. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * Plain words for the codes a person meets in the UI. The hub's own message is written for
 * developers; these say what happened and what to do. Unknown codes fall back to the hub's text.
 */
const PLAIN: Record<string, string> = {
  network: 'The hub cannot be reached. Check that it is powered and on the same network.',
  invalid_credentials: 'That username and password do not match.',
  wrong_password: 'That is not your current password.',
  totp_required: 'Enter the 6-digit code from your authenticator app.',
  totp_invalid: 'That code is not right, or it was already used. Enter the newest code from your authenticator app.',
  totp_code_wrong: 'That code does not match. Check that the app shows Hearth and enter its newest code.',
  totp_already_on: 'Two-step login is already on.',
  totp_not_set_up: 'Start again: turn two-step login on first.',
  too_many_requests: 'Too many attempts. Wait a minute and try again.',
  token_expired: 'Your session has ended. Please log in again.',
  username_taken: 'That username is taken.',
  user_not_found: 'This person no longer has an account on the hub.',
  self_change_refused: 'You cannot change your own role or remove yourself. Ask another owner.',
  last_owner: 'The hub needs at least one owner. Make someone else an owner first.',
  unauthorized: 'Your session has ended. Please log in again.',
  forbidden: 'Your account is not allowed to do that.',
  device_timeout: 'The device did not answer in time. It may be out of Wi-Fi range or busy; try again.',
  device_unavailable: 'The device is offline. Check that it has power and Wi-Fi.',
  device_rejected: 'The device refused the command.',
  device_not_found: 'This device no longer exists.',
  plug_not_found: 'The hub cannot see that plug. Make sure it is plugged in, close to the hub, and in pairing mode (light blinking).',
  pairing_wrong_code: 'The setup code does not match this plug. Check the 8 digits printed on the plug or scan its QR code again.',
  already_claimed: 'This plug already belongs to a hub. Reset it (hold the button for 10 seconds) and try again.',
  plug_unreachable: 'The plug stopped answering during pairing. Move it closer to the hub and try again.',
  plug_protocol_error: 'The plug answered with something the hub did not understand. Update the plug and try again.',
  pairing_timeout: 'The plug did not come online after pairing. Check that your Wi-Fi works and try again.',
  pairing_locked: 'The plug is locked after too many wrong codes. Unplug it for a moment, then try again with the right code.',
  pairing_in_progress: 'This plug is already being paired. Wait for that to finish.',
  plug_not_in_pairing_mode: 'The plug is not in pairing mode. Press the button on the plug once (its light starts blinking), then try again within 10 minutes.',
  pairing_rate_limited: 'The plug had too many pairing attempts in the last minute. Wait a minute, then try again.',
  validation_failed: 'Some of the values are not valid.',
  location_required: 'Sunrise and sunset rules need the home location. Set it in Settings first.',
  already_set_up: 'This hub already has an owner. Log in instead.',
  setup_code_invalid: 'That setup code is not right. Read it again in the hub\'s log or run hearth-admin setup-code on the hub (it changes after too many wrong tries).',
  setup_required: 'This hub needs an owner first.',
  not_ready: 'That part of the hub is not running.',
  rule_not_found: 'This rule no longer exists.',
  rule_too_complex: 'This rule repeats too much: loops inside loops may not run more than 10,000 times in all or nest more than 3 deep.',
  rule_step_budget_exceeded: 'The rule did too many steps in one run and was stopped.',
  rule_dry_run_busy: 'Other dry runs are in progress. Try again in a moment.',
  camera_not_found: 'This camera no longer exists.',
  recording_not_found: 'Nothing was recorded in that time range.',
  camera_unreachable: 'The hub cannot reach the camera. Check its address, user name and password.',
  camera_unsupported: 'The camera sends video the hub cannot record (it needs H.264 or H.265).',
  too_many_exports: 'The hub is already preparing other recordings for you. Try again in a moment.',
  export_storage_full: 'The hub\'s disk is too full to prepare this recording now. Try a shorter time range.',
  history_range_too_large: 'That time range is too long for this view.',
  mqtt_user_not_found: 'That MQTT user no longer exists.',
};

export function plainMessage(err: unknown): string {
  if (err instanceof ApiError) return PLAIN[err.code] ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
