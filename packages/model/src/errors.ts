/**
 * Every failure that crosses a boundary (HTTP, MQTT, command line) has a stable code, listed once
 * here with its HTTP status. The hub throws them as `HubError` (hub/src/core/errors.ts); the UI
 * tells a person what they mean with `ERROR_WORDS` below. Tests and clients match on `code`, never
 * on the message text.
 *
 * A new code needs two lines: its status here and its entry in `ERROR_WORDS` (plain words, or
 * null); the type check (the hub's too) fails until it has both.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  // A command's value outside its capability's range (the model's, or the device's own: a bulb's
  // colour temperature), or a string not among the capability's values (packages/model/src/capabilities.ts).
  value_out_of_range: 400,
  value_not_allowed: 400,
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
  // http.strict (hub/src/api/https-policy.ts): a non-GET request on plain http once the home is
  // set up; refused rather than redirected, so a client learns to stop sending passwords in clear.
  https_required: 403,
  // Settings → transport (hub/src/tls/transport-settings.ts): strict needs an HTTPS listener.
  https_unavailable: 409,
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
  // The hub's TLS certificate could not be made (hub/src/tls/hub-certificate.ts: no openssl).
  tls_unavailable: 503,
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
  // The plug pairs with another protocol version (details: plugVersion, hubVersion): v2 is the
  // PAKE, v1 the old HMAC proof. 409: the plug's state, not the request, is what must change.
  pairing_version_mismatch: 409,
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
  // Scheduled backups (hub/src/backup/schedule.ts).
  backup_passphrase_required: 400,
  backup_schedule_key_missing: 409,
  backup_failed: 500,
  backup_offsite_failed: 502,
  backup_recordings_too_large: 413,
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
  // Firmware rollouts to many plugs (hub/src/drivers/plug/rollout.ts): one at a time.
  rollout_in_progress: 409,
  rollout_not_paused: 409,
  // Keys for scripts (hub/src/auth/api-tokens.ts): api_token_scope: the key's scope or device
  // subset does not reach this route; api_token_refused: account routes (tokens, users, passwords,
  // two-step login, backups, handover, remote enrolment, updates, MQTT users) never take a key;
  // api_token_scope_exceeds_role: at creation, a scope above the person's role; api_token_limit:
  // the person already has the most keys allowed.
  api_token_scope: 403,
  api_token_refused: 403,
  api_token_scope_exceeds_role: 403,
  api_token_limit: 409,
  api_token_not_found: 404,
  // Energy (hub/src/energy/): the home's tariffs are bounded (how many versions, how many
  // time-of-use windows each); windows of one day may not overlap; two versions may not start on
  // the same day. One device may be the home's mains meter (energy_role_taken names the other).
  energy_tariffs_too_many: 400,
  energy_schedule_too_large: 400,
  energy_schedule_overlap: 400,
  energy_tariff_duplicate: 400,
  energy_role_taken: 409,
  // Sharing (hub/src/devices/sharing.ts): share_view_only: a guest commands something shared with
  // them to view only (it is visible to them, so a 403 reveals nothing); share_user_role: owners
  // and admins reach everything, so nothing is shared with them; share_limit: the home already has
  // the most shares allowed (devices.maxShares).
  share_not_found: 404,
  share_view_only: 403,
  share_user_role: 409,
  share_limit: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The codes a client may meet: the hub's, and `network` for a hub that cannot be reached at all. */
export type ClientErrorCode = ErrorCode | 'network';

/**
 * Plain words for each code, for the people using the UI: the hub's own message is written for
 * developers; these say what happened and what to do. null: the hub's message is shown instead
 * (a code a person does not meet in the UI, such as flashing over serial or start-up failures, or
 * one whose message says enough). Keyed by the code type, so a code cannot be forgotten here.
 */
export const ERROR_WORDS: Record<ClientErrorCode, string | null> = {
  network: 'The hub cannot be reached. Check that it is powered and on the same network.',
  bad_request: null,
  validation_failed: 'Some of the values are not valid.',
  value_out_of_range: 'That value is outside what the device can do.',
  value_not_allowed: 'The device does not take that value.',
  range_invalid: null,
  history_range_invalid: null,
  history_range_too_large: 'That time range is too long for this view.',
  invalid_json: null,
  unauthorized: 'Your session has ended. Please log in again.',
  invalid_credentials: 'That username and password do not match.',
  token_expired: 'Your session has ended. Please log in again.',
  forbidden: 'Your account is not allowed to do that.',
  not_found: null,
  route_not_found: null,
  device_not_found: 'This device no longer exists.',
  room_not_found: null,
  capability_not_found: null,
  mqtt_user_not_found: 'That MQTT user no longer exists.',
  conflict: null,
  setup_required: 'This hub needs an owner first.',
  already_set_up: 'This hub already has an owner. Log in instead.',
  setup_code_invalid:
    "That setup code is not right. Read it again in the hub's log or run hearth-admin setup-code on the hub (it changes after too many wrong tries).",
  owner_invite_invalid: null,
  installer_access_ended: null,
  support_grant_not_found: null,
  host_not_allowed: null,
  username_taken: 'That username is taken.',
  user_not_found: 'This person no longer has an account on the hub.',
  last_owner: 'The hub needs at least one owner. Make someone else an owner first.',
  self_change_refused: 'You cannot change your own role or remove yourself. Ask another owner.',
  wrong_password: 'That is not your current password.',
  totp_required: 'Enter the 6-digit code from your authenticator app.',
  totp_invalid: 'That code is not right, or it was already used. Enter the newest code from your authenticator app.',
  totp_code_wrong: 'That code does not match. Check that the app shows Hearth and enter its newest code.',
  totp_already_on: 'Two-step login is already on.',
  totp_not_set_up: 'Start again: turn two-step login on first.',
  payload_too_large: null,
  upgrade_required: null,
  unsupported_media_type: null,
  too_many_requests: 'Too many attempts. Wait a minute and try again.',
  internal_error: null,
  driver_not_found: null,
  device_unavailable: 'The device is offline. Check that it has power and Wi-Fi.',
  not_ready: 'That part of the hub is not running.',
  https_required:
    'This hub takes this only over its secure (https) address. Open the hub at its https address and try again.',
  https_unavailable:
    'This hub has no secure (https) address: it could not make its certificate, so it cannot require https. The hub log says why.',
  tls_unavailable: 'Encrypted MQTT is off on this hub: it could not make its certificate. The hub log says why.',
  device_timeout: 'The device did not answer in time. It may be out of Wi-Fi range or busy; try again.',
  device_rejected: 'The device refused the command.',
  pairing_wrong_code:
    'The setup code does not match this plug. Check the 8 digits printed on the plug or scan its QR code again.',
  plug_not_found:
    'The hub cannot see that plug. Make sure it is plugged in, close to the hub, and in pairing mode (light blinking).',
  already_claimed: 'This plug already belongs to a hub. Reset it (hold the button for 10 seconds) and try again.',
  pairing_in_progress: 'This plug is already being paired. Wait for that to finish.',
  pairing_locked:
    'The plug is locked after too many wrong codes. Unplug it for a moment, then try again with the right code.',
  plug_not_in_pairing_mode:
    'The plug is not in pairing mode. Press the button on the plug once (its light starts blinking), then try again within 10 minutes.',
  pairing_rate_limited: 'The plug had too many pairing attempts in the last minute. Wait a minute, then try again.',
  plug_unreachable: 'The plug stopped answering during pairing. Move it closer to the hub and try again.',
  plug_protocol_error: 'The plug answered with something the hub did not understand. Update the plug and try again.',
  pairing_version_mismatch:
    'The plug and the hub pair in different ways. Update whichever is older (the plug firmware or the hub), then try again.',
  pairing_timeout: 'The plug did not come online after pairing. Check that your Wi-Fi works and try again.',
  firmware_invalid: null,
  firmware_not_found: null,
  firmware_current: null,
  update_in_progress: null,
  rule_not_found: 'This rule no longer exists.',
  rule_version_not_found: null,
  scene_not_found: null,
  location_required: 'Sunrise and sunset rules need the home location. Set it in Settings first.',
  rule_too_complex:
    'This rule repeats too much: loops inside loops may not run more than 10,000 times in all or nest more than 3 deep.',
  rule_step_budget_exceeded: 'The rule did too many steps in one run and was stopped.',
  rule_dry_run_busy: 'Other dry runs are in progress. Try again in a moment.',
  camera_not_found: 'This camera no longer exists.',
  recording_not_found: 'Nothing was recorded in that time range.',
  recording_range_too_large: null,
  camera_off: null,
  range_not_satisfiable: null,
  camera_unsupported: 'The camera sends video the hub cannot record (it needs H.264 or H.265).',
  camera_unreachable: 'The hub cannot reach the camera. Check its address, user name and password.',
  recorder_storage_full: null,
  live_not_ready: null,
  too_many_exports: 'The hub is already preparing other recordings for you. Try again in a moment.',
  export_storage_full: "The hub's disk is too full to prepare this recording now. Try a shorter time range.",
  local_only: null,
  remote_user_mismatch: null,
  remote_device_not_found: null,
  invite_only: null,
  invite_not_found: null,
  relay_not_configured: null,
  remote_range_too_long: null,
  remote_bytes_exceeded: null,
  flash_port_not_found: null,
  flash_port_busy: null,
  flash_port_denied: null,
  flash_image_not_found: null,
  flash_image_invalid: null,
  flash_no_bootloader: null,
  flash_wrong_chip: null,
  flash_write_failed: null,
  flash_verify_failed: null,
  flash_interrupted: null,
  flash_timeout: null,
  provision_no_answer: null,
  provision_wifi_failed: null,
  provision_rejected: null,
  config_invalid: null,
  store_corrupt: null,
  store_too_new: null,
  backup_corrupt: 'This file is not a Hearth backup, or it is damaged or incomplete. Try another copy of the backup.',
  backup_passphrase_wrong:
    'That passphrase does not open this backup. Check it and try again: it is the one chosen when the backup was made.',
  backup_too_new: 'This backup comes from a newer version of Hearth. Update this hub first, then restore.',
  backup_in_progress: null,
  backup_not_found: null,
  backup_verify_failed: null,
  backup_storage_full:
    "The hub's disk is too full for this backup. Free some space (or use a larger card) and try again.",
  restore_would_replace: null,
  restore_hub_running: null,
  backup_passphrase_required: 'Scheduled backups need a passphrase: it is the only way to open them later.',
  backup_schedule_key_missing:
    'The backup schedule has no passphrase on this hub. Set it again under Settings → Backups.',
  backup_failed: 'The scheduled backup could not be written. Check that the backup disk is plugged in and has room.',
  backup_offsite_failed: 'The backup was made here but could not be stored at the relay.',
  backup_recordings_too_large:
    'The camera recordings are too large to go into a backup. Make the backup without them, or shorten their retention.',
  update_release_invalid: null,
  update_package_mismatch: null,
  update_package_missing: null,
  update_package_too_large: null,
  update_downgrade: null,
  update_too_old: null,
  update_not_configured: null,
  update_no_rollback: null,
  update_unhealthy: null,
  update_devices_missing: null,
  update_step_failed: null,
  update_fetch_failed: null,
  rollout_in_progress: 'A firmware rollout is running or paused. Resume or cancel it first.',
  rollout_not_paused: 'There is no paused rollout.',
  api_token_scope: null,
  api_token_refused: null,
  api_token_scope_exceeds_role: 'Your role does not allow a key with that much power. Pick a smaller scope.',
  api_token_limit: 'You have the most keys allowed. Revoke one you no longer use first.',
  api_token_not_found: 'This key was already revoked.',
  energy_tariffs_too_many: 'That is more tariff changes than the hub keeps. Remove old ones first.',
  energy_schedule_too_large: 'That tariff has too many time windows.',
  energy_schedule_overlap: 'Two time windows of that tariff overlap on the same day.',
  energy_tariff_duplicate: 'Two tariffs start on the same day. Keep one.',
  energy_role_taken: 'Another device is already the home’s mains meter. Change that one first.',
  share_not_found: 'This share has already ended or was removed.',
  share_view_only: 'This was shared with you to look at only.',
  share_user_role: 'Owners and admins already reach everything; share with a member or a guest.',
  share_limit: 'The home has the most shares allowed. Remove shares that are no longer needed first.',
};

/** The plain words for `code`, or undefined if it has none (or is not a code at all). */
export function errorWords(code: string): string | undefined {
  return Object.hasOwn(ERROR_WORDS, code) ? (ERROR_WORDS[code as ClientErrorCode] ?? undefined) : undefined;
}
