import type { StateValue } from '@hearth/model/values';
import type { Device, DeviceCommand } from '@hearth/model/api';
import { useState } from 'preact/hooks';
import { api } from '../api/client.ts';
import { plainMessage } from '../api/errors.ts';
import { putDevice } from '../live.ts';

/**
 * Sends one command and waits for the device's confirmation. The shown state changes only when
 * the hub answers with the confirmed device (or the events stream reports it), never
 * optimistically: a lamp that did not switch must not look switched.
 */
export function useToggle(device: Device, capability: string | undefined) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (value: StateValue) => {
    if (!capability) return;
    setPending(true);
    setError(null);
    try {
      putDevice(
        await api<Device>('POST', `/devices/${device.id}/commands`, { capability, value } satisfies DeviceCommand),
      );
    } catch (err) {
      setError(plainMessage(err));
    } finally {
      setPending(false);
    }
  };
  return { pending, error, run };
}
