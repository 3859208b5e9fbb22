import { createServer, type Server, type Socket } from 'node:net';
import {
  EmulatedDevice,
  macCapabilities,
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
 * Not emulated: MAC/NWK failures (data confirms always succeed), route discovery, the ZNP's
 * address/security tables in NV (backups carry empty ones), green power, touchlink, OTA.
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

const NV = {
  STARTUP_OPTION: 3,
  NIB: 33,
  EXTENDED_PAN_ID: 45,
  NWK_ACTIVE_KEY_INFO: 58,
  NWK_ALTERN_KEY_INFO: 59,
  PRECFGKEY: 98,
  NWKKEY: 130,
  PANID: 131,
  CHANLIST: 132,
} as const;
const DEV_STATE_COORD = 9;

// ---- the coordinator ------------------------------------------------------------------------------

export interface CoordinatorOptions {
  ieee?: string;
  log?: boolean;
}

export class ZStackCoordinator {
  readonly ieee: string;
  readonly nv = new Map<number, Buffer>();
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
  #tsn = 0;
  #log: boolean;
  #waiters: Array<{ match: (s: SentToDevice) => boolean; resolve: (s: SentToDevice) => void }> = [];
  #connWaiters: Array<() => void> = [];

  constructor(options: CoordinatorOptions = {}) {
    this.ieee = options.ieee ?? '00124b00deadbeef';
    this.#log = options.log ?? process.env.ZSTACK_EMULATOR_LOG === '1';
    // A factory-fresh CC2652: the network key item exists (unaligned, 21 bytes), nothing commissioned.
    this.nv.set(NV.NWKKEY, Buffer.alloc(21));
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
        if (!item) return this.#srsp(s, cmd.name, { status: 0x0a, len: 0, value: Buffer.alloc(0) });
        const value = item.subarray(req.offset as number, (req.offset as number) + 240);
        return this.#srsp(s, cmd.name, { status: 0, len: value.length, value });
      }
      case '1:osalNvItemInit': {
        const id = req.id as number;
        if (this.nv.has(id)) return this.#srsp(s, cmd.name, { status: 0 });
        const item = Buffer.alloc(req.len as number);
        (req.initvalue as Buffer).copy(item);
        this.nv.set(id, item);
        return this.#srsp(s, cmd.name, { status: 0x09 }); // NV_ITEM_UNINIT: created now
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
      case '1:nvLength':
        return this.#srsp(s, cmd.name, { len: 0 });
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
          this.#devState = DEV_STATE_COORD;
          this.#areq(SUBSYS.ZDO, 'stateChangeInd', { state: DEV_STATE_COORD });
        }, 10);
        return;
      }
      case '5:extNwkInfo': {
        const nib = this.nv.get(NV.NIB);
        const panid = this.nv.get(NV.PANID)?.readUInt16LE(0) ?? 0xffff;
        const epid = this.nv.get(NV.EXTENDED_PAN_ID) ?? Buffer.alloc(8);
        return this.#srsp(s, cmd.name, {
          shortaddr: 0,
          devstate: this.#devState,
          panid,
          parentaddr: 0,
          extendedpanid: Buffer.from(epid).reverse().toString('hex'),
          parentextaddr: '0000000000000000',
          channel: nib?.[22] ?? 11,
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
    if (option & 0x02) {
      // Clear network state and configuration: the stack forgets its network and its NV items.
      for (const id of [...this.nv.keys()]) if (id !== NV.NWKKEY && id !== NV.STARTUP_OPTION) this.nv.delete(id);
      this.endpoints.clear();
    }
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
    // NIB (unaligned, 110 bytes): only the fields herdsman looks at are meaningful.
    const nib = Buffer.alloc(110);
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
    const device = this.devices.get(dst);
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
    const device = this.devices.get(dst);
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

  // ---- what tests drive ---------------------------------------------------------------------------

  /** The device joins (needs permit join): trust-center indication, then its announce. */
  join(spec: EmulatedDeviceSpec): EmulatedDevice {
    if (this.permitJoinSeconds === 0) throw new Error('emulator: the network is closed (no permit join)');
    const device = new EmulatedDevice(spec);
    this.devices.set(spec.nwkAddr, device);
    this.#areq(SUBSYS.ZDO, 'tcDeviceInd', { nwkaddr: spec.nwkAddr, extaddr: spec.ieee, parentaddr: 0 });
    this.announce(device);
    return device;
  }

  /** Re-attaches a device object to the emulated network (after a hub restart, the radio is unchanged). */
  attach(device: EmulatedDevice): void {
    this.devices.set(device.spec.nwkAddr, device);
  }

  announce(device: EmulatedDevice): void {
    this.#zdoCallback(
      0x0013,
      device.spec.nwkAddr,
      Buffer.concat([u16(device.spec.nwkAddr), ieeeToLe(device.spec.ieee), u8(macCapabilities(device))]),
    );
  }

  /** AF_INCOMING_MSG from the device to the coordinator's endpoint. */
  deliver(device: EmulatedDevice, clusterId: number, data: Buffer, dstEndpoint = 1): void {
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
