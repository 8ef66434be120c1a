/**
 * Which corner of the window the dock takes. It sits above everything (the top layer), so over a
 * page's own fixed controls it made them unclickable: a chat launcher, a cookie bar's "Accept", a
 * map's corner (helper-78). The dock keeps its corner while nothing of the page's fixed UI lies
 * under it, and otherwise takes the first corner that is free, in this order.
 */
export type DockCorner = 'bottom-right' | 'bottom-left' | 'top-right' | 'top-left';

export const DOCK_CORNERS: readonly DockCorner[] = ['bottom-right', 'bottom-left', 'top-right', 'top-left'];

/** The dock's distance from the window's edges, as dock-style.ts places it. */
export const DOCK_MARGIN = 8;

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where a box of the dock's size would be in `corner` of a window of this size. */
export function boxAt(corner: DockCorner, size: { width: number; height: number }, view: { width: number; height: number }): Box {
  const left = corner.endsWith('left') ? DOCK_MARGIN : view.width - DOCK_MARGIN - size.width;
  const top = corner.startsWith('top') ? DOCK_MARGIN : view.height - DOCK_MARGIN - size.height;
  return { left, top, width: size.width, height: size.height };
}

/**
 * The corner to take: `current` while `covers` finds nothing of the page's there, else the first
 * free one, else `current` (nowhere is free: stay put rather than wander).
 */
export function chooseCorner(current: DockCorner, covers: (corner: DockCorner) => boolean): DockCorner {
  if (!covers(current)) return current;
  return DOCK_CORNERS.find((corner) => corner !== current && !covers(corner)) ?? current;
}

/** How far up from an element to look for the fixed layer it belongs to: page UI nests shallowly. */
const MAX_DEPTH = 32;

/**
 * Whether the page's own fixed or sticky UI lies under `box`: what `elementsFromPoint` finds at
 * its corners and centre, other than the dock, the root and the body, inside an element the page
 * fixed to the window. Content that scrolls under a fixed dock is no control the dock hides for good.
 */
export function coversPageUi(doc: Document, box: Box, dock: Element, style: (element: Element) => CSSStyleDeclaration): boolean {
  const inset = 2;
  const right = box.left + box.width - inset;
  const bottom = box.top + box.height - inset;
  const points = [
    [box.left + inset, box.top + inset],
    [right, box.top + inset],
    [box.left + inset, bottom],
    [right, bottom],
    [box.left + box.width / 2, box.top + box.height / 2],
  ];
  for (const [x, y] of points) {
    for (const element of doc.elementsFromPoint(x ?? 0, y ?? 0)) {
      if (element === dock || element === doc.documentElement || element === doc.body) continue;
      if (inFixedLayer(element, doc, style)) return true;
    }
  }
  return false;
}

function inFixedLayer(element: Element, doc: Document, style: (element: Element) => CSSStyleDeclaration): boolean {
  let current: Element | null = element;
  for (let depth = 0; current && current !== doc.body && current !== doc.documentElement && depth < MAX_DEPTH; depth += 1) {
    const position = style(current).position;
    if (position === 'fixed' || position === 'sticky') return true;
    current = current.parentElement;
  }
  return false;
}
