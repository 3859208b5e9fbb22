import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  EmulatedDevice,
  macCapabilities,
  sameNetwork,
  type JoinedNetwork,
  parseZcl,
  zclFromDevice,
  zclReport,
  type EmulatedDeviceSpec,
  type SentToDevice,
  type ZclValue,
} from './zstack-devices.ts';
import {
  DEFINITION,
  encodeMtFrame,
  ieeeToLe,
  MtParser,
  readParams,
  SUBSYS,
  TYPE,
  u16,
  u8,
  writeParams,
  type MtCmd,
  type MtFrame,
} from './zstack-mt.ts';
import { NV, STARTOPT, ZStackNv } from './zstack-nv.ts';

/**
 * A Texas Instruments Z-Stack 3.x.0 coordinator (ZNP), emulated on a TCP socket: what sits behind
 * `/dev/ttyUSB0` on a real hub. zigbee-herdsman connects with `tcp://127.0.0.1:PORT` and speaks
 * MT frames (SOF 0xFE, len, cmd0, cmd1, payload, FCS) exactly as it would over the serial port;
 * everything above the port (herdsman, the Zigbee driver, the registry, the API) runs for real.
 *
 * The emulator keeps an NV memory (so a hub restart finds the network it commissioned), forms a
 * network when asked (BDB commissioning), registers AF endpoints, and hosts emulated devices:
 * a device (a mains router like a plug, or a battery end device like a sensor) joins with a
 * trust-center indication and a ZDO end-device announce (only while permit join is open),
 * answers the interview (node, active-endpoint and simple descriptors, Basic cluster reads, IAS
 * zone enrollment), binds, configure reporting (then reports the configured attributes), reads,
 * writes and ZCL commands (On/Off with a default response and an attribute report, as a real
 * smart plug does), leaves when told to, and can be told to report, refuse or go silent. The
 * connection can be dropped (a pulled USB cable) and garbage written onto it.
 *
 * NV memory (zstack-nv.ts) holds what a real stick keeps and what herdsman backs up and restores:
 * the OSAL items and the extended tables (address manager, TC link keys, APS link keys, NWK
 * frame counters). A device remembers the network it joined (channel, PAN id, extended PAN id,
 * network key, trust center address) and the highest NWK frame counter it took from the
 * coordinator; a coordinator reaches it only on that network and above that counter, which the
 * stack keeps in NV (stored every 1000 frames, resumed 1000 above the stored value after a reset,
 * as Z-Stack's MAX_NWK_FRAMECOUNTER_CHANGES does). So a replacement coordinator reaches the
 * devices only if a restore gave it the whole network: a test of restore cannot pass on a stick
 * that merely formed a network with the same key. The coordinator's IEEE address is the chip's
 * own unless ZCD_NV_EXTADDR holds another (read at reset, as the stack does).
 *
 * Not emulated: MAC/NWK failures (data confirms always succeed), route discovery, incoming frame
 * counters per neighbour, link-key encryption, green power, touchlink, OTA.
 *
 * Payload layouts of MT commands come from herdsman's own ZNP command table (parameter names and
 * types, as TI's "Z-Stack Monitor and Test API" document describes them); frames, ZDO payloads and
 * ZCL frames are built byte by byte (MT frames in zstack-mt.ts, ZCL in zstack-devices.ts).
 *
 * Three files: zstack-mt.ts the MT frame codec (framing, FCS, command ids and payload layouts),
 * zstack-devices.ts the emulated devices (their attributes and what their firmware does with a ZCL
 * frame), and this one the coordinator (the socket, NV memory, network formation, the MT and ZDO
 * requests it answers, and what tests drive).
 */

// What the tests import from here (the codec and the devices live beside it).
export { encodeMtFrame, MtParser, SUBSYS, type MtFrame } from './zstack-mt.ts';
export {
  EmulatedDevice,
  encodeZclValue,
  parseZcl,
  zclFromDevice,
  zclReport,
  type EmulatedDeviceSpec,
  type SentToDevice,
  type ZclFrame,
  type ZclValue,
} from './zstack-devices.ts';

const DEV_STATE_COORD = 9;
/** Z-Stack stores its NWK frame counter after this many frames and resumes this far above it. */
const MAX_NWK_FRAMECOUNTER_CHANGES = 1000;
// MT status codes ("Z-Stack Monitor and Test API"): success, item created by init, no such item.
const ST = { SUCCESS: 0x00, NV_ITEM_UNINIT: 0x09, NV_OPER_FAILED: 0x0a } as const;

// ---- the coordinator ------------------------------------------------------------------------------

export interface CoordinatorOptions {
  ieee?: string;
  log?: boolean;
}

export class ZStackCoordinator {
  /** The chip's own IEEE address (what it answers until ZCD_NV_EXTADDR says otherwise). */
  readonly factoryIeee: string;
  /** NV memory: OSAL items (`nv`) and extended tables. */
  readonly memory = new ZStackNv();
  readonly devices = new Map<number, EmulatedDevice>();
  /** Every ZCL frame the hub sent to a device (in order). */
  readonly sent: SentToDevice[] = [];
  /** Every MT request the hub sent, by name (for tests and debugging). */
  readonly requests: string[] = [];
  readonly endpoints = new Map<
    number,
    { profileId: number; deviceId: number; inClusters: number[]; outClusters: number[] }
  >();
  permitJoinSeconds = 0;
  #server: Server | undefined;
  #socket: Socket | undefined;
  #parser = new MtParser();
  #devState = 0;
  #ieee: string;
  #frameCounter = 0;
  #framesSinceStore = 0;
  #tsn = 0;
  #log: boolean;
  #waiters: Array<{ match: (s: SentToDevice) => boolean; resolve: (s: SentToDevice) => void }> = [];
  #connWaiters: Array<() => void> = [];

  constructor(options: CoordinatorOptions = {}) {
    this.factoryIeee = options.ieee ?? '00124b00deadbeef';
    this.#ieee = this.factoryIeee;
    this.#log = options.log ?? process.env.ZSTACK_EMULATOR_LOG === '1';
  }

  /** OSAL NV items by id. */
  get nv(): Map<number, Buffer> {
    return this.memory.items;
  }

  /** The IEEE address the stack runs with: ZCD_NV_EXTADDR when set (a restore writes the old stick's), else the chip's. */
  get ieee(): string {
    return this.#ieee;
  }

  /** The network the coordinator runs (from its NIB and active key), undefined until it is up. */
  network(): JoinedNetwork | undefined {
    const nib = this.nv.get(NV.NIB);
    const key = this.nv.get(NV.NWK_ACTIVE_KEY_INFO);
    if (this.#devState !== DEV_STATE_COORD || !nib || !key) return undefined;
    return {
      channel: nib[22]!,
      panId: nib.readUInt16LE(33),
      extendedPanId: Buffer.from(nib.subarray(53, 61)).reverse().toString('hex'),
      networkKey: key.subarray(1, 17).toString('hex'),
      trustCenter: this.#ieee,
    };
  }

  /** The NWK frame counter of the coordinator's last frame. */
  get frameCounter(): number {
    return this.#frameCounter;
  }

  async listen(): Promise<number> {
    this.#server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this.port;
  }

  get port(): number {
    const a = this.#server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** Waits until the hub is connected (it reconnects after a restart). */
  async waitConnected(): Promise<void> {
    if (this.connected) return;
    await new Promise<void>((resolve) => this.#connWaiters.push(resolve));
  }

  /** The USB cable pulled: the hub's connection drops (it may connect again). */
  disconnect(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  /** Raw bytes straight onto the wire, to test how the hub copes with garbage. */
  writeRaw(bytes: Buffer): void {
    this.#socket?.write(bytes);
  }

  /** While set, connections are closed at once: a coordinator unplugged or not yet booted. */
  refuseConnections = false;

  #accept(socket: Socket): void {
    if (this.refuseConnections) {
      socket.destroy();
      return;
    }
    this.#socket?.destroy();
    this.#socket = socket;
    this.#parser = new MtParser();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#parser.push(chunk)) {
        try {
          this.#onFrame(frame);
        } catch (err) {
          if (this.#log) console.error('emulator: failed to handle frame', frame, err);
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
    });
    for (const w of this.#connWaiters.splice(0)) w();
  }

  #send(type: number, subsystem: number, name: string, values: Record<string, unknown>): void {
    const cmd = DEFINITION[subsystem]!.find((c) => c.name === name);
    if (!cmd) throw new Error(`emulator: no MT command ${name}`);
    const params = type === TYPE.SRSP ? (cmd.response ?? []) : (cmd.request ?? []);
    this.#write({ type, subsystem, id: cmd.ID, data: writeParams(params, values) });
  }

  #write(frame: MtFrame): void {
    if (this.#log)
      console.log(`emulator <-- ${frame.type}/${frame.subsystem}/${frame.id} ${frame.data.toString('hex')}`);
    this.#socket?.write(encodeMtFrame(frame));
  }

  #srsp(subsystem: number, name: string, values: Record<string, unknown> = {}): void {
    this.#send(TYPE.SRSP, subsystem, name, values);
  }

  #areq(subsystem: number, name: string, values: Record<string, unknown>): void {
    this.#send(TYPE.AREQ, subsystem, name, values);
  }

  /** A ZDO callback (AREQ): the responding node's address, then the ZDO response payload. */
  #zdoCallback(clusterId: number, srcAddr: number, zdo: Buffer): void {
    const cmd = DEFINITION[SUBSYS.ZDO]!.find((c) => c.type === TYPE.AREQ && c.zdoClusterId === clusterId);
    if (!cmd) throw new Error(`emulator: no ZDO callback for cluster ${clusterId}`);
    const head = Buffer.alloc(2);
    head.writeUInt16LE(srcAddr);
    this.#write({ type: TYPE.AREQ, subsystem: SUBSYS.ZDO, id: cmd.ID, data: Buffer.concat([head, zdo]) });
  }

  #onFrame(frame: MtFrame): void {
    const cmd = DEFINITION[frame.subsystem]?.find((c) => c.ID === frame.id && c.type === frame.type);
    if (!cmd) {
      if (this.#log) console.log(`emulator: unknown frame ${frame.type}/${frame.subsystem}/${frame.id}`);
      return;
    }
    this.requests.push(cmd.name);
    if (cmd.zdoClusterId !== undefined) return this.#onZdoRequest(cmd, frame.data);
    const req = readParams(cmd.request ?? [], frame.data);
    if (this.#log)
      console.log(
        `emulator --> ${cmd.name} ${JSON.stringify(req, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))}`,
      );
    const s = frame.subsystem;
    switch (`${s}:${cmd.name}`) {
      case '1:ping':
        return this.#srsp(s, 'ping', { capabilities: 0x0179 });
      case '1:version':
        return this.#srsp(s, 'version', {
          transportrev: 2,
          product: 1,
          majorrel: 2,
          minorrel: 7,
          maintrel: 1,
          revision: 20230507,
        });
      case '1:getExtAddr':
        return this.#srsp(s, 'getExtAddr', { extaddress: this.ieee });
      case '1:resetReq':
        return this.#reset();
      case '1:osalNvLength':
        return this.#srsp(s, 'osalNvLength', { length: this.nv.get(req.id as number)?.length ?? 0 });
      case '1:osalNvReadExt':
      case '1:osalNvRead': {
        const item = this.nv.get(req.id as number);
        if (!item) return this.#srsp(s, cmd.name, { status: ST.NV_OPER_FAILED, len: 0, value: Buffer.alloc(0) });
        const value = item.subarray(req.offset as number, (req.offset as number) + 240);
        return this.#srsp(s, cmd.name, { status: 0, len: value.length, value });
      }
      case '1:osalNvItemInit': {
        const id = req.id as number;
        if (this.nv.has(id)) return this.#srsp(s, cmd.name, { status: 0 });
        const item = Buffer.alloc(req.len as number);
        (req.initvalue as Buffer).copy(item);
        this.nv.set(id, item);
        return this.#srsp(s, cmd.name, { status: ST.NV_ITEM_UNINIT }); // created now
      }
      case '1:osalNvWriteExt':
      case '1:osalNvWrite': {
        const id = req.id as number;
        const offset = req.offset as number;
        const value = req.value as Buffer;
        const old = this.nv.get(id) ?? Buffer.alloc(0);
        const item = Buffer.alloc(Math.max(old.length, offset + value.length));
        old.copy(item);
        value.copy(item, offset);
        this.nv.set(id, item);
        return this.#srsp(s, cmd.name, { status: 0 });
      }
      case '1:osalNvDelete':
        this.nv.delete(req.id as number);
        return this.#srsp(s, cmd.name, { status: 0 });
      case '1:nvLength': {
        const item = this.memory.ex.get(ZStackNv.key(req.sysid as number, req.itemid as number, req.subid as number));
        return this.#srsp(s, cmd.name, { len: item?.length ?? 0 });
      }
      case '1:nvRead': {
        const item = this.memory.ex.get(ZStackNv.key(req.sysid as number, req.itemid as number, req.subid as number));
        if (!item) return this.#srsp(s, cmd.name, { status: ST.NV_OPER_FAILED, len: 0, value: Buffer.alloc(0) });
        const offset = req.offset as number;
        const value = item.subarray(offset, offset + (req.len as number));
        return this.#srsp(s, cmd.name, { status: ST.SUCCESS, len: value.length, value });
      }
      case '1:nvCreate': {
        const key = ZStackNv.key(req.sysid as number, req.itemid as number, req.subid as number);
        if (!this.memory.ex.has(key)) this.memory.ex.set(key, Buffer.alloc(req.len as number));
        return this.#srsp(s, cmd.name, { status: ST.SUCCESS });
      }
      case '1:nvWrite': {
        const key = ZStackNv.key(req.sysid as number, req.itemid as number, req.subid as number);
        const old = this.memory.ex.get(key);
        if (!old) return this.#srsp(s, cmd.name, { status: ST.NV_OPER_FAILED });
        const offset = req.offset as number;
        const value = req.value as Buffer;
        const item = Buffer.alloc(Math.max(old.length, offset + value.length));
        old.copy(item);
        value.copy(item, offset);
        this.memory.ex.set(key, item);
        return this.#srsp(s, cmd.name, { status: ST.SUCCESS });
      }
      case '1:nvDelete':
        this.memory.ex.delete(ZStackNv.key(req.sysid as number, req.itemid as number, req.subid as number));
        return this.#srsp(s, cmd.name, { status: ST.SUCCESS });
      case '7:getDeviceInfo':
        return this.#srsp(s, cmd.name, {
          status: 0,
          ieeeaddr: this.ieee,
          shortaddr: 0,
          devicetype: 7,
          devicestate: this.#devState,
          numassocdevices: 0,
          assocdeviceslist: [],
        });
      case '7:assocGetWithAddress':
        return this.#srsp(s, cmd.name, { nwkaddr: 0xfffe, addridx: 0, noderelation: 0xff });
      case '15:bdbStartCommissioning': {
        this.#srsp(s, cmd.name, { status: 0 });
        setTimeout(() => this.#formNetwork(), 10);
        return;
      }
      case '5:startupFromApp': {
        this.#srsp(s, cmd.name, { status: 0 });
        setTimeout(() => {
          // The stack resumes the network its NV holds, its frame counter safely above the stored one.
          const nib = this.nv.get(NV.NIB);
          if (nib) {
            const epidLe = nib.subarray(53, 61);
            this.#frameCounter = (this.memory.storedFrameCounter(epidLe) ?? 0) + MAX_NWK_FRAMECOUNTER_CHANGES;
            this.#framesSinceStore = 0;
            this.memory.storeFrameCounter(epidLe, this.#frameCounter);
          }
          this.#devState = DEV_STATE_COORD;
          this.#areq(SUBSYS.ZDO, 'stateChangeInd', { state: DEV_STATE_COORD });
        }, 10);
        return;
      }
      case '5:extNwkInfo': {
        // What the NWK layer runs with: its NIB.
        const nib = this.nv.get(NV.NIB);
        return this.#srsp(s, cmd.name, {
          shortaddr: 0,
          devstate: this.#devState,
          panid: nib?.readUInt16LE(33) ?? 0xffff,
          parentaddr: 0,
          extendedpanid: Buffer.from(nib?.subarray(53, 61) ?? Buffer.alloc(8))
            .reverse()
            .toString('hex'),
          parentextaddr: '0000000000000000',
          channel: nib?.[22] ?? 0,
        });
      }
      case '5:extFindGroup':
        return this.#srsp(s, cmd.name, { status: 1, groupid: 0, namelen: 0, groupname: Buffer.alloc(0) });
      case '4:register': {
        this.endpoints.set(req.endpoint as number, {
          profileId: req.appprofid as number,
          deviceId: req.appdeviceid as number,
          inClusters: req.appinclusterlist as number[],
          outClusters: req.appoutclusterlist as number[],
        });
        return this.#srsp(s, cmd.name, { status: 0 });
      }
      case '4:dataRequest':
        return this.#onDataRequest(req);
      default: {
        // Anything else the stack accepts with success (bdbSetChannel, extAddGroup, extRouteDisc, ...).
        if (cmd.type === TYPE.SREQ)
          this.#srsp(s, cmd.name, Object.fromEntries((cmd.response ?? []).map((p) => [p.name, 0])));
      }
    }
  }

  #reset(): void {
    const option = this.nv.get(NV.STARTUP_OPTION)?.[0] ?? 0;
    if (option & (STARTOPT.CLEAR_STATE | STARTOPT.CLEAR_CONFIG)) {
      // The stack forgets its network (and its configuration) and boots with empty tables.
      this.memory.clear(option);
      this.endpoints.clear();
    }
    // At boot the stack takes its IEEE address from ZCD_NV_EXTADDR when that is set.
    const ext = this.nv.get(NV.EXTADDR);
    const fromNv = ext?.length === 8 ? Buffer.from(ext).reverse().toString('hex') : undefined;
    this.#ieee = fromNv && !/^(0{16}|f{16})$/.test(fromNv) ? fromNv : this.factoryIeee;
    this.#devState = 0;
    setTimeout(
      () =>
        this.#areq(SUBSYS.SYS, 'resetInd', {
          reason: 0,
          transportrev: 2,
          productid: 1,
          majorrel: 2,
          minorrel: 7,
          hwrev: 1,
        }),
      5,
    );
  }

  /** BDB network formation: what the firmware writes to NV once the network is up. */
  #formNetwork(): void {
    const panId = this.nv.get(NV.PANID)?.readUInt16LE(0) ?? 0x1a62;
    const channelMask = this.nv.get(NV.CHANLIST)?.readUInt32LE(0) ?? 1 << 11;
    let channel = 11;
    for (let c = 11; c <= 26; c++)
      if (channelMask & (1 << c)) {
        channel = c;
        break;
      }
    const epidLe = this.nv.get(NV.EXTENDED_PAN_ID) ?? ieeeToLe(this.ieee);
    const key = this.nv.get(NV.PRECFGKEY) ?? Buffer.alloc(16);
    // NIB (nwkIB_t, unaligned, 110 bytes): only the fields herdsman looks at are meaningful.
    const nib = Buffer.alloc(110);
    nib[12] = 5; // SecurityLevel: ENC-MIC-32, as Zigbee 3.0 networks run
    nib.writeUInt16LE(0, 20); // nwkDevAddress
    nib[22] = channel; // nwkLogicalChannel
    ieeeToLe(this.ieee).copy(nib, 25); // nwkCoordExtAddress
    nib.writeUInt16LE(panId, 33);
    nib[35] = 1; // nwkState
    nib.writeUInt32LE(channelMask >>> 0, 36);
    epidLe.copy(nib, 53);
    nib[61] = 1; // nwkKeyLoaded
    this.nv.set(NV.NIB, nib);
    const keyInfo = Buffer.concat([Buffer.from([0]), key]);
    this.nv.set(NV.NWK_ACTIVE_KEY_INFO, keyInfo);
    this.nv.set(NV.NWK_ALTERN_KEY_INFO, Buffer.from(keyInfo));
    this.nv.set(NV.NWKKEY, Buffer.concat([Buffer.from([0]), key, Buffer.alloc(4)]));
    // The seed the trust center derives each joining device's unique link key from.
    if (!this.nv.has(NV.TCLK_SEED)) this.nv.set(NV.TCLK_SEED, randomBytes(16));
    // A new network starts its NWK frame counter at 0 and records it for this extended PAN id.
    this.#frameCounter = 0;
    this.#framesSinceStore = 0;
    this.memory.storeFrameCounter(epidLe, 0);
    this.#devState = DEV_STATE_COORD;
    this.#areq(SUBSYS.ZDO, 'stateChangeInd', { state: DEV_STATE_COORD });
    this.#areq(SUBSYS.APP_CNF, 'bdbComissioningNotifcation', { status: 0 });
  }

  #onZdoRequest(cmd: MtCmd, data: Buffer): void {
    // ZDO requests are answered with a bare status byte, then (for most) a ZDO callback.
    const zdoSrsp = (_s: number, _name: string, v: { status: number }) =>
      this.#write({ type: TYPE.SRSP, subsystem: SUBSYS.ZDO, id: cmd.ID, data: u8(v.status) });
    const s = SUBSYS.ZDO;
    const cluster = cmd.zdoClusterId!;
    // Most ZDO requests: destination address (u16), then the ZDO payload (no transaction number).
    const dst = data.length >= 2 ? data.readUInt16LE(0) : 0;
    const zdo = data.subarray(2);
    const device = cluster === 0x0036 ? undefined : this.#receivedBy(dst);
    switch (cluster) {
      case 0x0036: {
        // permit joining (addrMode, dst, duration, tcSignificance)
        this.permitJoinSeconds = data[3] ?? 0;
        return zdoSrsp(s, cmd.name, { status: 0 });
      }
      case 0x0005: {
        // active endpoints
        zdoSrsp(s, cmd.name, { status: 0 });
        const nwk = zdo.readUInt16LE(0);
        if (nwk === 0) {
          const eps = [...this.endpoints.keys()];
          return this.#zdoCallback(0x8005, 0, Buffer.concat([Buffer.from([0, 0, 0, eps.length]), Buffer.from(eps)]));
        }
        if (!device || device.silent) return;
        return this.#zdoCallback(0x8005, nwk, Buffer.concat([u8(0), u16(nwk), u8(1), u8(device.spec.endpoint)]));
      }
      case 0x0004: {
        // simple descriptor
        zdoSrsp(s, cmd.name, { status: 0 });
        const nwk = zdo.readUInt16LE(0);
        const ep = zdo[2]!;
        let desc: { profileId: number; deviceId: number; inClusters: number[]; outClusters: number[] } | undefined;
        if (nwk === 0) desc = this.endpoints.get(ep);
        else if (device && !device.silent && ep === device.spec.endpoint)
          desc = {
            profileId: 0x0104,
            deviceId: device.spec.deviceId,
            inClusters: device.spec.inClusters,
            outClusters: device.spec.outClusters,
          };
        if (!desc)
          return nwk === 0 ? this.#zdoCallback(0x8004, 0, Buffer.concat([u8(0x82), u16(0), u8(0)])) : undefined;
        const body = Buffer.concat([
          u8(ep),
          u16(desc.profileId),
          u16(desc.deviceId),
          u8(0),
          u8(desc.inClusters.length),
          ...desc.inClusters.map(u16),
          u8(desc.outClusters.length),
          ...desc.outClusters.map(u16),
        ]);
        return this.#zdoCallback(0x8004, nwk, Buffer.concat([u8(0), u16(nwk), u8(body.length), body]));
      }
      case 0x0002: {
        // node descriptor
        zdoSrsp(s, cmd.name, { status: 0 });
        const nwk = zdo.readUInt16LE(0);
        if (!device || device.silent) return;
        // Router: 2.4 GHz, mains-powered FFD with rx on when idle; end device: battery RFD, rx off.
        const desc = Buffer.concat([
          u8(device.spec.endDevice ? 0x02 : 0x01),
          u8(0x40),
          u8(macCapabilities(device)),
          u16(device.spec.manufacturerCode),
          u8(82),
          u16(82),
          u16(0x2c00),
          u16(82),
          u8(0),
        ]);
        return this.#zdoCallback(0x8002, nwk, Buffer.concat([u8(0), u16(nwk), desc]));
      }
      case 0x0021: {
        // bind request: (dst u16) src ieee, src ep, cluster, dst addr mode, ...
        zdoSrsp(s, cmd.name, { status: 0 });
        if (!device || device.silent) return;
        return this.#zdoCallback(0x8021, dst, u8(0));
      }
      case 0x0034: {
        // leave request
        zdoSrsp(s, cmd.name, { status: 0 });
        if (!device || device.silent) return;
        device.left = true;
        this.#zdoCallback(0x8034, dst, u8(0));
        this.devices.delete(dst);
        this.#areq(s, 'leaveInd', {
          srcaddr: dst,
          extaddr: device.spec.ieee,
          request: 0,
          removechildren: 0,
          rejoin: 0,
        });
        return;
      }
      default:
        return zdoSrsp(s, cmd.name, { status: 0 });
    }
  }

  #onDataRequest(req: Record<string, unknown>): void {
    const dst = req.dstaddr as number;
    const device = this.#receivedBy(dst);
    this.#srsp(SUBSYS.AF, 'dataRequest', { status: 0 });
    // A silent device still gets its frame handed to the parent: the data confirm is a success.
    setTimeout(
      () => this.#areq(SUBSYS.AF, 'dataConfirm', { status: 0, endpoint: req.srcendpoint, transid: req.transid }),
      2,
    );
    const zcl = parseZcl(req.data as Buffer);
    const sent: SentToDevice = {
      nwkAddr: dst,
      endpoint: req.destendpoint as number,
      clusterId: req.clusterid as number,
      zcl,
    };
    this.sent.push(sent);
    for (const w of [...this.#waiters])
      if (w.match(sent)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(sent);
      }
    if (!device || device.silent) return;
    const hubEndpoint = req.srcendpoint as number;
    const reply = (data: Buffer) => this.deliver(device, sent.clusterId, data, hubEndpoint);
    setTimeout(() => device.handle(sent, reply, (clusterId, attrIds) => this.report(device, clusterId, attrIds)), 5);
  }

  /** Whether the device is on the network this coordinator runs. */
  reaches(device: EmulatedDevice): boolean {
    return sameNetwork(device.network, this.network());
  }

  /** The coordinator's NWK frame counter for its next frame, stored in NV every 1000 frames. */
  #nextFrameCounter(): number {
    this.#frameCounter++;
    if (++this.#framesSinceStore >= MAX_NWK_FRAMECOUNTER_CHANGES) {
      const nib = this.nv.get(NV.NIB);
      if (nib) this.memory.storeFrameCounter(nib.subarray(53, 61), this.#frameCounter);
      this.#framesSinceStore = 0;
    }
    return this.#frameCounter;
  }

  /**
   * A unicast frame to `nwkAddr`: the device that takes it, or undefined when none does (no such
   * device, silent, on another network, or the frame's counter is not above the last it took).
   */
  #receivedBy(nwkAddr: number): EmulatedDevice | undefined {
    const device = this.devices.get(nwkAddr);
    if (!device) return undefined;
    const counter = this.#nextFrameCounter();
    if (device.silent || !this.reaches(device)) return undefined;
    if (counter <= device.frameCounterSeen) {
      if (this.#log)
        console.log(`emulator: ${device.spec.ieee} drops frame counter ${counter} (seen ${device.frameCounterSeen})`);
      return undefined;
    }
    device.frameCounterSeen = counter;
    return device;
  }

  // ---- what tests drive ---------------------------------------------------------------------------

  /**
   * Weeks of traffic in a moment: the coordinator sends `frames` frames the network's devices
   * take (broadcasts, polls, commands), moving its NWK frame counter on (and storing it in NV
   * every 1000, as the stack does).
   */
  simulateTraffic(frames: number): void {
    for (let i = 0; i < frames; i++) this.#nextFrameCounter();
    for (const device of this.devices.values())
      if (this.reaches(device)) device.frameCounterSeen = Math.max(device.frameCounterSeen, this.#frameCounter);
  }

  /** The device joins (needs permit join): trust-center indication, then its announce. */
  join(spec: EmulatedDeviceSpec): EmulatedDevice {
    if (this.permitJoinSeconds === 0) throw new Error('emulator: the network is closed (no permit join)');
    const network = this.network();
    if (!network) throw new Error('emulator: no network is up to join');
    const device = new EmulatedDevice(spec);
    // The device learns the network (the key by the trust center's transport key); the stack
    // records it in its address manager and its TC link key table.
    device.network = network;
    this.memory.recordJoin(spec.ieee, spec.nwkAddr, Number.parseInt(spec.ieee.slice(-1), 16));
    this.devices.set(spec.nwkAddr, device);
    this.#areq(SUBSYS.ZDO, 'tcDeviceInd', { nwkaddr: spec.nwkAddr, extaddr: spec.ieee, parentaddr: 0 });
    this.announce(device);
    return device;
  }

  /**
   * Puts a device object in this coordinator's radio range (after a hub restart, or a device of a
   * home whose coordinator was replaced): it keeps the network it joined and is reached only on it.
   */
  attach(device: EmulatedDevice): void {
    this.devices.set(device.spec.nwkAddr, device);
  }

  announce(device: EmulatedDevice): void {
    if (!this.reaches(device)) return;
    this.#zdoCallback(
      0x0013,
      device.spec.nwkAddr,
      Buffer.concat([u16(device.spec.nwkAddr), ieeeToLe(device.spec.ieee), u8(macCapabilities(device))]),
    );
  }

  /** AF_INCOMING_MSG from the device to the coordinator's endpoint. */
  deliver(device: EmulatedDevice, clusterId: number, data: Buffer, dstEndpoint = 1): void {
    // A device on another network (channel, PAN, key) is not heard at all.
    if (!this.reaches(device)) return;
    this.#areq(SUBSYS.AF, 'incomingMsg', {
      groupid: 0,
      clusterid: clusterId,
      srcaddr: device.spec.nwkAddr,
      srcendpoint: device.spec.endpoint,
      dstendpoint: dstEndpoint,
      wasbroadcast: 0,
      linkquality: 180,
      securityuse: 0,
      timestamp: Date.now() & 0xffffffff,
      transseqnumber: 0,
      len: data.length,
      data,
    });
  }

  /** The device reports its current values of these attributes. */
  report(device: EmulatedDevice, clusterId: number, attrIds: number[]): void {
    const attrs: Array<[number, ZclValue]> = [];
    for (const id of attrIds) {
      const v = device.get(clusterId, id);
      if (v) attrs.push([id, v]);
    }
    this.#tsn = (this.#tsn + 1) & 0xff;
    this.deliver(device, clusterId, zclReport(this.#tsn, attrs));
  }

  /** An IAS zone's Zone Status Change Notification (alarm bits: 0x0001 alarm 1, e.g. a contact open). */
  zoneStatusChange(device: EmulatedDevice, zoneStatus: number): void {
    device.set(0x0500, 0x0002, { type: 0x19, value: zoneStatus });
    this.#tsn = (this.#tsn + 1) & 0xff;
    this.deliver(
      device,
      0x0500,
      zclFromDevice(this.#tsn, 0x00, Buffer.concat([u16(zoneStatus), u8(0), u8(23), u16(0)]), true),
    );
  }

  /** Resolves with the next frame the hub sends that matches (or one already sent after `since`). */
  nextSent(match: (s: SentToDevice) => boolean, since = 0): Promise<SentToDevice> {
    const already = this.sent.slice(since).find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}
