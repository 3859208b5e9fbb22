/**
 * What a Hearth plug is (firmware/port/esp-idf: ESP32-C3, 4 MB flash, bootloader at 0x0,
 * partition table at 0x8000). Free of Node APIs: the web UI's flasher imports it too.
 */
export const PLUG_TARGET = {
  chipName: 'ESP32-C3',
  idfTarget: 'esp32c3',
  imageChipId: 5,
  flashBytes: 4 * 1024 * 1024,
  bootloaderOffset: 0x0,
  partitionTableOffset: 0x8000,
} as const;

/** One file to write at one flash offset. */
export interface FlashPart {
  name: string;
  offset: number;
  data: Uint8Array;
}
