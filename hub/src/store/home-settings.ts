/**
 * The settings keys of the home's location and time zone, spelled once (its name is the `homes`
 * row). Written by PATCH /api/v1/home; read by the rules (sun triggers and conditions) and the
 * history (local days for energy).
 */
export const HOME_LOCATION_SETTING = 'home.location';
export const HOME_TIMEZONE_SETTING = 'home.timezone';
