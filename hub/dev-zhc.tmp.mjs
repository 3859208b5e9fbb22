import * as z from 'zigbee-herdsman-converters';
const show = async (modelID, manufacturerName) => {
  const dev = {
    modelID,
    manufacturerName,
    endpoints: [],
    type: 'Router',
    ieeeAddr: '0x00',
    isDummyDevice: true,
    getEndpoint: () => undefined,
  };
  const d = await z.findByDevice(dev, false);
  if (!d) return console.log('none', modelID);
  const ex = typeof d.exposes === 'function' ? d.exposes(dev, {}) : d.exposes;
  console.log(
    modelID,
    '=>',
    d.model,
    d.vendor,
    JSON.stringify(
      ex.map((e) => ({
        t: e.type,
        n: e.name,
        p: e.property,
        c: e.category,
        v: e.values,
        f: e.features?.map((f) => [
          f.name,
          f.property,
          f.value_min,
          f.value_max,
          f.values,
          f.features?.map((g) => g.name),
        ]),
      })),
    ),
  );
  console.log('  toZ', d.toZigbee.map((t) => t.key.join('|')).join(' ; '));
  console.log('  fromZ', d.fromZigbee.map((t) => t.cluster).join(' '));
};
for (const m of process.argv.slice(2)) {
  const [a, b] = m.split('@');
  await show(a, b);
}
