import type { ZclValue } from './zstack-devices.ts';

/**
 * What a colour bulb's, a blind's and a door lock's firmware do with their cluster commands, per the ZCL
 * specification (Zigbee Cluster Library, 07-5123: 5.2 Color Control, 7.3 Door Lock, 7.4 Window Covering): the
 * attributes a command sets. The emulated device (zstack-devices.ts) stores them, answers with a
 * success default response and reports them, as a real bulb or blind does once it got there.
 * Undefined: the command is not one of these (the device answers UNSUP_CLUSTER_COMMAND).
 */
export function clusterCommandEffect(
  clusterId: number,
  commandId: number,
  payload: Buffer,
): Array<[number, ZclValue]> | undefined {
  const u16 = (at: number): ZclValue => ({ type: 0x21, value: payload.readUInt16LE(at) });
  const u8 = (at: number): ZclValue => ({ type: 0x20, value: payload[at]! });
  const colourMode = (mode: number): [number, ZclValue] => [0x0008, { type: 0x30, value: mode }];
  if (clusterId === 0x0300) {
    switch (commandId) {
      case 0x06: // move to hue and saturation: hue u8, saturation u8, transition
        return [[0x0000, u8(0)], [0x0001, u8(1)], colourMode(0)];
      case 0x07: // move to color: currentX u16, currentY u16, transition
        return [[0x0003, u16(0)], [0x0004, u16(2)], colourMode(1)];
      case 0x0a: // move to color temperature: mireds u16, transition
        return [[0x0007, u16(0)], colourMode(2)];
      case 0x43: // enhanced move to hue and saturation: enhanced hue u16, saturation u8, transition
        return [[0x4000, u16(0)], [0x0001, u8(2)], colourMode(0)];
    }
    return undefined;
  }
  if (clusterId === 0x0101) {
    // Door lock (7.3): lock door / unlock door; lock state 1 locked, 2 unlocked.
    if (commandId === 0x00) return [[0x0000, { type: 0x30, value: 1 }]];
    if (commandId === 0x01) return [[0x0000, { type: 0x30, value: 2 }]];
    return undefined;
  }
  if (clusterId === 0x0102) {
    // Lift percentage: 0 is fully open, 100 fully closed (ZCL; Zigbee2MQTT's position is the other way).
    switch (commandId) {
      case 0x00: // up / open
        return [[0x0008, { type: 0x20, value: 0 }]];
      case 0x01: // down / close
        return [[0x0008, { type: 0x20, value: 100 }]];
      case 0x02: // stop: stays where it is
        return [];
      case 0x05: // go to lift percentage u8
        return [[0x0008, u8(0)]];
      case 0x08: // go to tilt percentage u8
        return [[0x0009, u8(0)]];
    }
  }
  return undefined;
}

/**
 * A command whose answer is a cluster response rather than a default response: the door lock's
 * Lock/Unlock Door Response (same id, status byte). Undefined for the others.
 */
export function clusterResponse(clusterId: number, commandId: number): Buffer | undefined {
  return clusterId === 0x0101 && commandId <= 0x01 ? Buffer.from([0x00]) : undefined;
}
