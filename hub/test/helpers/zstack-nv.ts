import { ieeeToLe } from './zstack-mt.ts';

/**
 * The non-volatile memory of the emulated Z-Stack 3.x.0 coordinator (zstack-coordinator.ts):
 * what a CC2652 running TI's Z-Stack keeps across resets and what zigbee-herdsman reads to back
 * a coordinator up and writes to restore that backup onto another stick.
 *
 * Sources (TI's documentation, not herdsman's code):
 * - "Z-Stack Monitor and Test API" (TI, SWRA198): the SYS commands that reach NV. OSAL NV items
 *   by a 16-bit id: SYS_OSAL_NV_ITEM_INIT / _READ(_EXT) / _WRITE(_EXT) / _DELETE / _LENGTH; and,
 *   on Z-Stack 3.x.0 for SimpleLink (NV on-chip compaction, "NVOCMP"), items addressed by system
 *   id, item id and sub id: SYS_NV_CREATE / _DELETE / _LENGTH / _READ / _WRITE. The status
 *   codes are the document's: SUCCESS 0x00, NV_ITEM_UNINIT 0x09 (created by ITEM_INIT),
 *   NV_OPER_FAILED 0x0A (no such item).
 * - Z-Stack's ZComDef.h for the item ids (ZCD_NV_*), and for the extended tables the ZCD_NV_EX_*
 *   item ids under system id NVINTF_SYSID_ZSTACK (1, nvintf.h): one sub id per table entry.
 * - The structs the stack stores in them, packed (this emulator reports an unaligned target: a
 *   21-byte ZCD_NV_NWKKEY): AddrMgrEntry_t {user u8, nwkAddr u16, extAddr[8]} (AddrMgr.h),
 *   APSME_TCLinkKeyNVEntry_t {txFrmCntr u32, rxFrmCntr u32, extAddr[8], keyAttributes u8,
 *   keyType u8, SeedShift_IcIndex u8}, APSME_ApsLinkKeyNVEntry_t {key[16], txFrmCntr u32,
 *   rxFrmCntr u32}, the security manager's APSME_LinkKeyNVEntry_t {ami u16, keyNvId u16,
 *   authenticateOption u8} behind a u16 count, nwkSecMaterialDesc_t {FrameCounter u32,
 *   extendedPanID[8]}, nwkActiveKeyItems {keySeqNum u8, key[16]}, and the NIB (nwk.h nwkIB_t).
 *   All little-endian; addresses least significant byte first.
 *
 * Table capacities are this emulator's (smaller than a production image's NWK_MAX_ADDRESSES and
 * ZDSECMGR_TC_DEVICE_MAX, to keep a test's table walk short); herdsman sizes what it writes by
 * the capacity it reads from the target, as it must for a real stick.
 */

export const NV = {
  EXTADDR: 0x0001,
  STARTUP_OPTION: 0x0003,
  NIB: 0x0021,
  EXTENDED_PAN_ID: 0x002d,
  NWK_ACTIVE_KEY_INFO: 0x003a,
  NWK_ALTERN_KEY_INFO: 0x003b,
  APS_LINK_KEY_TABLE: 0x004c,
  PRECFGKEY: 0x0062,
  PRECFGKEYS_ENABLE: 0x0063,
  NWKKEY: 0x0082,
  PANID: 0x0083,
  CHANLIST: 0x0084,
  TCLK_SEED: 0x0101,
} as const;

/** ZCD_NV_EX_* item ids of the extended tables, under NVINTF_SYSID_ZSTACK. */
export const EX = {
  ADDRMGR: 0x0001,
  TCLK_TABLE: 0x0004,
  APS_KEY_DATA_TABLE: 0x0006,
  NWK_SEC_MATERIAL_TABLE: 0x0007,
} as const;
export const SYSID_ZSTACK = 1;

/** ZCD_NV_STARTUP_OPTION bits (ZComDef.h): what the next reset clears. */
export const STARTOPT = { CLEAR_CONFIG: 0x01, CLEAR_STATE: 0x02 } as const;

/** AddrMgr.h user bits. */
export const ADDRMGR_USER = { ASSOC: 0x01, SECURITY: 0x02 } as const;

/** Each extended table: its entry size and this emulator's capacity, and an empty entry. */
const TABLES: Record<number, { entries: number; empty: () => Buffer }> = {
  // An unused address manager entry: user 0, nwkAddr 0xFFFE (INVALID_NODE_ADDR), extAddr all 0xFF.
  [EX.ADDRMGR]: { entries: 32, empty: () => Buffer.concat([Buffer.from([0, 0xfe, 0xff]), Buffer.alloc(8, 0xff)]) },
  [EX.TCLK_TABLE]: { entries: 16, empty: () => Buffer.alloc(19) },
  [EX.APS_KEY_DATA_TABLE]: { entries: 8, empty: () => Buffer.alloc(24) },
  [EX.NWK_SEC_MATERIAL_TABLE]: { entries: 5, empty: () => Buffer.alloc(12) },
};
const SECURITY_MANAGER_ENTRIES = 16;

export interface AddressManagerEntry {
  user: number;
  nwkAddr: number;
  ieee: string;
}
export interface TclkEntry {
  ieee: string;
  txFrmCntr: number;
  rxFrmCntr: number;
  keyAttributes: number;
  keyType: number;
  seedShift: number;
}

function leToIeee(b: Buffer): string {
  return Buffer.from(b).reverse().toString('hex');
}

export class ZStackNv {
  /** OSAL items by id. */
  readonly items = new Map<number, Buffer>();
  /** Extended items by `sysId:itemId:subId`. */
  readonly ex = new Map<string, Buffer>();

  constructor() {
    // A factory-fresh CC2652: the network key item exists (unaligned, 21 bytes), the tables are
    // there with every entry unused, nothing commissioned.
    this.items.set(NV.NWKKEY, Buffer.alloc(21));
    this.#initTables();
  }

  static key(sysId: number, itemId: number, subId: number): string {
    return `${sysId}:${itemId}:${subId}`;
  }

  /**
   * A reset with ZCD_NV_STARTUP_OPTION set: CLEAR_STATE forgets the network (NIB, keys, frame
   * counters, the device tables), CLEAR_CONFIG the configuration items (PAN id, channels, EXTADDR:
   * the chip's own IEEE address comes back). The stack recreates its tables, empty, as it boots.
   */
  clear(option: number): void {
    if (!(option & (STARTOPT.CLEAR_STATE | STARTOPT.CLEAR_CONFIG))) return;
    for (const id of [...this.items.keys()]) if (id !== NV.NWKKEY && id !== NV.STARTUP_OPTION) this.items.delete(id);
    this.ex.clear();
    this.#initTables();
  }

  #initTables(): void {
    for (const [itemId, t] of Object.entries(TABLES))
      for (let sub = 0; sub < t.entries; sub++) this.ex.set(ZStackNv.key(SYSID_ZSTACK, Number(itemId), sub), t.empty());
    this.items.set(NV.APS_LINK_KEY_TABLE, Buffer.alloc(2 + SECURITY_MANAGER_ENTRIES * 5));
  }

  #table(itemId: number): Buffer[] {
    const out: Buffer[] = [];
    for (let sub = 0; ; sub++) {
      const e = this.ex.get(ZStackNv.key(SYSID_ZSTACK, itemId, sub));
      if (!e) return out;
      out.push(e);
    }
  }

  /** The used address manager entries (user not 0, a real IEEE address). */
  addressManager(): AddressManagerEntry[] {
    return this.#table(EX.ADDRMGR)
      .map((e) => ({ user: e[0]!, nwkAddr: e.readUInt16LE(1), ieee: leToIeee(e.subarray(3, 11)) }))
      .filter((e) => e.user !== 0 && !/^(0{16}|f{16})$/.test(e.ieee));
  }

  /** The used TC link key entries (a non-zero extAddr). */
  tclk(): TclkEntry[] {
    return this.#table(EX.TCLK_TABLE)
      .map((e) => ({
        txFrmCntr: e.readUInt32LE(0),
        rxFrmCntr: e.readUInt32LE(4),
        ieee: leToIeee(e.subarray(8, 16)),
        keyAttributes: e[16]!,
        keyType: e[17]!,
        seedShift: e[18]!,
      }))
      .filter((e) => e.ieee !== '0'.repeat(16));
  }

  /** The NWK frame counter stored for `extendedPanIdLe` (or the generic all-0xFF entry). */
  storedFrameCounter(extendedPanIdLe: Buffer): number | undefined {
    const entries = this.#table(EX.NWK_SEC_MATERIAL_TABLE);
    const own = entries.find((e) => e.subarray(4, 12).equals(extendedPanIdLe));
    const generic = entries.find((e) => e.subarray(4, 12).equals(Buffer.alloc(8, 0xff)));
    return (own ?? generic)?.readUInt32LE(0);
  }

  /** Stores the NWK frame counter in the entry for this extended PAN id (the first free one if none). */
  storeFrameCounter(extendedPanIdLe: Buffer, counter: number): void {
    const entries = this.#table(EX.NWK_SEC_MATERIAL_TABLE);
    const entry =
      entries.find((e) => e.subarray(4, 12).equals(extendedPanIdLe)) ??
      entries.find((e) => e.subarray(4, 12).equals(Buffer.alloc(8)));
    if (!entry) return;
    entry.writeUInt32LE(counter >>> 0, 0);
    extendedPanIdLe.copy(entry, 4);
  }

  /** What the stack records when a device joins through the coordinator (a direct child with a TC link key). */
  recordJoin(ieee: string, nwkAddr: number, seedShift: number): void {
    const ieeeLe = ieeeToLe(ieee);
    // The device's own entry if it joined before, else the first unused one.
    const slot = (entries: Buffer[], addrAt: number, used: (e: Buffer) => boolean) =>
      entries.find((e) => used(e) && e.subarray(addrAt, addrAt + 8).equals(ieeeLe)) ?? entries.find((e) => !used(e));
    const ame = slot(this.#table(EX.ADDRMGR), 3, (e) => e[0] !== 0);
    if (ame) {
      ame[0] = ADDRMGR_USER.ASSOC | ADDRMGR_USER.SECURITY;
      ame.writeUInt16LE(nwkAddr, 1);
      ieeeLe.copy(ame, 3);
    }
    const tclk = slot(this.#table(EX.TCLK_TABLE), 8, (e) => !e.subarray(8, 16).equals(Buffer.alloc(8)));
    if (tclk) {
      tclk.fill(0);
      ieeeLe.copy(tclk, 8);
      tclk[16] = 2; // keyAttributes: verified key
      tclk[17] = 0; // keyType
      tclk[18] = seedShift & 0x0f;
    }
  }
}
