import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boxAt, chooseCorner, DOCK_MARGIN } from './page/dock/dock-placement.js';

describe('dock placement', () => {
  it('puts a box of the dock size in each corner, the margin from the edges', () => {
    const size = { width: 100, height: 30 };
    const view = { width: 1280, height: 720 };
    assert.deepEqual(boxAt('bottom-right', size, view), { left: 1280 - DOCK_MARGIN - 100, top: 720 - DOCK_MARGIN - 30, width: 100, height: 30 });
    assert.deepEqual(boxAt('top-left', size, view), { left: DOCK_MARGIN, top: DOCK_MARGIN, width: 100, height: 30 });
  });

  it('keeps its corner while it is free, else takes the first free one, else stays', () => {
    assert.equal(chooseCorner('bottom-left', () => false), 'bottom-left');
    assert.equal(chooseCorner('bottom-right', (corner) => corner.startsWith('bottom')), 'top-right');
    assert.equal(chooseCorner('bottom-right', (corner) => corner === 'bottom-right'), 'bottom-left');
    assert.equal(chooseCorner('top-right', () => true), 'top-right');
  });
});
