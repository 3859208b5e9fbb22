/**
 * Every failure that crosses a boundary (HTTP, MQTT, command line) is a HubError with a stable
 * code. Tests and clients match on `code`, never on the message text.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  // A request's time range (api/range.ts) with 'from' after 'to'; the history routes say
  // history_range_invalid, as they did before the others shared the parser.
  range_invalid: 400,
  history_range_invalid: 400,
  history_range_too_large: 400,
  invalid_json: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  token_expired: 401,
  forbidden: 403,
  not_found: 404,
  route_not_found: 404,
  device_not_found: 404,
  room_not_found: 404,
  capability_not_found: 404,
  mqtt_user_not_found: 404,
  conflict: 409,
  setup_required: 409,
  already_set_up: 409,
  // First run (hub/src/auth/setup-code.ts): POST /setup without the one-time code kept in
  // DATA/setup-code (or with a wrong one). 403: the caller lacks something only the hub's
  // person has.
  setup_code_invalid: 403,
  // Handover (hub/src/auth/handover.ts): an owner invite that is wrong, spent or expired; an
  // installer account after the owner accepted (no support grant, or it ended or was revoked);
  // a support grant to change where there is none.
  owner_invite_invalid: 403,
  installer_access_ended: 403,
  support_grant_not_found: 404,
  // A request addressed to a name that is not the hub's (hub/src/api/host-check.ts): DNS
  // rebinding, or a name missing from http.allowedHosts. 421 Misdirected Request.
  host_not_allowed: 421,
  username_taken: 409,
  // User management (hub/src/auth/user-admin.ts): the hub keeps an owner; nobody removes or
  // re-roles themselves.
  user_not_found: 404,
  last_owner: 409,
  self_change_refused: 409,
  // Changing one's own password (POST /me/password) with a wrong current password: 403, not
  // 401, because the bearer token is fine; clients answer a 401 by refreshing and logging out.
  wrong_password: 403,
  // Two-step login (hub/src/auth/two-factor.ts). At login: the account needs its TOTP code
  // (totp_required, answered whether the password was right or not: nothing issued); a wrong
  // password or code with a code is invalid_credentials (totp_invalid is kept for clients but no
  // longer answered by login). Turning it on: a wrong confirmation code is a 400 (the session is
  // fine), already on or nothing set up a 409.
  totp_required: 401,
  totp_invalid: 401,
  totp_code_wrong: 400,
  totp_already_on: 409,
  totp_not_set_up: 409,
  payload_too_large: 413,
  upgrade_required: 426,
  unsupported_media_type: 415,
  too_many_requests: 429,
  internal_error: 500,
  driver_not_found: 500,
  device_unavailable: 503,
  not_ready: 503,
  device_timeout: 504,
  device_rejected: 502,
  // Pairing a Hearth plug (docs/plug-protocol.md). A wrong setup code is a 400: the request
  // carried a wrong value the person can correct, not a missing permission.
  pairing_wrong_code: 400,
  plug_not_found: 404,
  already_claimed: 409,
  pairing_in_progress: 409,
  pairing_locked: 429,
  // The plug answers hello only in its pairing window (a button press or the first 10 minutes
  // after power-on) and a few times a minute.
  plug_not_in_pairing_mode: 409,
  pairing_rate_limited: 429,
  plug_unreachable: 502,
  plug_protocol_error: 502,
  pairing_timeout: 504,
  // Plug firmware updates (docs/plug-protocol.md "Firmware update").
  firmware_invalid: 400,
  firmware_not_found: 404,
  firmware_current: 409,
  update_in_progress: 409,
  // Rules (hub/src/rules). A sun rule without the home's location could never fire: refused.
  rule_not_found: 404,
  rule_version_not_found: 404,
  scene_not_found: 404,
  location_required: 409,
  // A rule whose repeats nest too deep or multiply past MAX_PASSES is refused on save (and in a
  // dry run); a run that executes more actions than its step budget stops with the second code
  // (in its trace, or in a dry run's `stopped`). See hub/src/rules/budget.ts.
  rule_too_complex: 400,
  rule_step_budget_exceeded: 422,
  // More dry runs at once than rules.dryRunConcurrent (each holds its replay in memory).
  rule_dry_run_busy: 429,
  // Cameras (hub/src/recorder). Unreachable: no answer, refused or bad credentials (the camera's
  // fault or the URL's, not ours: 502); unsupported: it answers but sends nothing we can record.
  camera_not_found: 404,
  recording_not_found: 404,
  recording_range_too_large: 400,
  camera_off: 409,
  range_not_satisfiable: 416,
  camera_unsupported: 422,
  camera_unreachable: 502,
  // The recordings volume is at its free-space floor with no footage left to remove: nothing
  // records until space returns (also the camera's alert code).
  recorder_storage_full: 507,
  // The live stream has not produced video yet (a camera just started or reconnecting).
  live_not_ready: 503,
  // Playback/export files (hub/src/recorder/export.ts): more ffmpeg exports running than the
  // caller's or the hub's bound (details.scope: user | all); an export that would not fit in the
  // exports' budget or above the free-space floor (it never makes room by removing footage).
  too_many_exports: 429,
  export_storage_full: 507,
  // Remote access (hub/src/relay, docs/relay-protocol.md). local_only: a LAN-only route
  // (enrolment, owner setup, pairing) asked through the relay; remote_user_mismatch: the token's
  // user is not the user the remote device is enrolled for.
  local_only: 403,
  remote_user_mismatch: 403,
  remote_device_not_found: 404,
  // An invite link's key may only redeem its invite (invite_only); the invite was used,
  // withdrawn or expired (invite_not_found).
  invite_only: 403,
  invite_not_found: 404,
  relay_not_configured: 409,
  // remote_range_too_long: a playback or clip through the relay spans more than a minute (longer
  // ones are for the home network); remote_bytes_exceeded: a remote answer would make the hub hold
  // more than the session's byte bound for a device that has not taken it yet.
  remote_range_too_long: 400,
  remote_bytes_exceeded: 413,
  // Flashing a plug over a serial port (`hearth-admin flash-plug`, hub/src/flash). Not
  // HTTP-facing today; each has its own exit code (hub/src/flash/exit-codes.ts). The status says
  // whose fault it is: the installer's input (4xx) or the plug / cable (5xx).
  flash_port_not_found: 404,
  flash_port_busy: 409,
  flash_port_denied: 403,
  flash_image_not_found: 404,
  flash_image_invalid: 422,
  flash_no_bootloader: 504,
  flash_wrong_chip: 422,
  flash_write_failed: 502,
  flash_verify_failed: 502,
  flash_interrupted: 502,
  flash_timeout: 504,
  // Wi-Fi over Improv serial after flashing: no Improv answer in time, the plug could not join
  // the network with the settings given, or it refused them.
  provision_no_answer: 504,
  provision_wifi_failed: 502,
  provision_rejected: 422,
  // Not HTTP-facing: configuration and start-up failures.
  config_invalid: 500,
  store_corrupt: 500,
  store_too_new: 500,
  backup_corrupt: 422,
  backup_passphrase_wrong: 403,
  backup_too_new: 422,
  backup_in_progress: 409,
  backup_not_found: 404,
  backup_verify_failed: 500,
  backup_storage_full: 507,
  restore_would_replace: 409,
  restore_hub_running: 409,
  // Hub self-update (hub/src/update/, docs/update.md). A release whose signature or manifest is
  // wrong, or a package that is not the signed bytes: 422, nothing changed. A version step that
  // needs confirming (downgrade, reinstall) or a release that needs a newer hub first: 409.
  update_release_invalid: 422,
  update_package_mismatch: 422,
  update_package_missing: 409,
  update_package_too_large: 413,
  update_downgrade: 409,
  update_too_old: 409,
  update_not_configured: 503,
  update_no_rollback: 409,
  // The helper's outcomes (status.json, not HTTP answers): why an update was rolled back or failed.
  update_unhealthy: 500,
  update_devices_missing: 500,
  update_step_failed: 500,
  update_fetch_failed: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class HubError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isHubError(err: unknown, code?: ErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}
