/**
 * A picked sRGB colour as the capability model's colour values: hue (0–360°) and saturation
 * (0–100 %) of HSV, or CIE 1931 xy through linear sRGB and the sRGB→XYZ matrix (IEC 61966-2-1).
 */
function rgbOf(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.replace('#', ''), 16);
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff].map((v) => v / 255) as [number, number, number];
}

export function hexToHueSaturation(hex: string): { hue: number; saturation: number } {
  const [r, g, b] = rgbOf(hex);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  let hue = 0;
  if (d > 0) {
    if (max === r) hue = ((g - b) / d) % 6;
    else if (max === g) hue = (b - r) / d + 2;
    else hue = (r - g) / d + 4;
  }
  return { hue: Math.round((hue * 60 + 360) % 360), saturation: max === 0 ? 0 : Math.round((d / max) * 100) };
}

export function hexToXy(hex: string): { x: number; y: number } {
  const [r, g, b] = rgbOf(hex).map((v) => (v > 0.04045 ? ((v + 0.055) / 1.055) ** 2.4 : v / 12.92)) as [
    number,
    number,
    number,
  ];
  const X = r * 0.4124564 + g * 0.3575761 + b * 0.1804375;
  const Y = r * 0.2126729 + g * 0.7151522 + b * 0.072175;
  const Z = r * 0.0193339 + g * 0.119192 + b * 0.9503041;
  const sum = X + Y + Z;
  // Black has no chromaticity: the D65 white point.
  if (sum === 0) return { x: 0.3127, y: 0.329 };
  const round = (v: number) => Math.round(v * 10_000) / 10_000;
  return { x: round(X / sum), y: round(Y / sum) };
}
