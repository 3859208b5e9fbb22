/** A name for this browser in the hub's list of remote devices, until the user types a better one. */
export function defaultDeviceName(): string {
  const platform =
    (navigator as Navigator & { userAgentData?: { platform?: string } }).userAgentData?.platform || navigator.platform;
  return platform ? `Browser on ${platform}` : 'Browser';
}
