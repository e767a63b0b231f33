/**
 * Ultralytics' class colour palette (20 colours, class id modulo 20) and the colours it writes label text
 * in. These are published facts of its look (the same list ships in its mobile apps); users comparing
 * our annotated images with theirs see the same colours per class.
 */
const PALETTE_HEX = [
  '042AFF',
  '0BDBEB',
  'F3F3F3',
  '00DFB7',
  '111F68',
  'FF6FDD',
  'FF444F',
  'CCED00',
  '00F344',
  'BD00FF',
  '00B4FF',
  'DD00BA',
  '00FFFF',
  '26C000',
  '01FFB3',
  '7D24FF',
  '7B0068',
  'FF1B6C',
  'FC6D2F',
  'A2FF0B',
] as const;

/** Light backgrounds get dark-blue text (#111F68, the palette's own dark colour); all others white. */
const DARK_TEXT_ON = new Set([
  '0BDBEB',
  'F3F3F3',
  '00DFB7',
  'FF6FDD',
  'CCED00',
  '00F344',
  '00FFFF',
  '01FFB3',
  'A2FF0B',
]);

export interface ClassColor {
  /** Box and label background, '#RRGGBB'. */
  fill: string;
  /** Label text colour. */
  text: string;
  rgb: [number, number, number];
}

export function classColor(cls: number): ClassColor {
  const n = PALETTE_HEX.length;
  const hex = PALETTE_HEX[((Math.trunc(cls) % n) + n) % n]!;
  const v = parseInt(hex, 16);
  return {
    fill: `#${hex}`,
    text: DARK_TEXT_ON.has(hex) ? '#111F68' : '#FFFFFF',
    rgb: [(v >> 16) & 255, (v >> 8) & 255, v & 255],
  };
}
