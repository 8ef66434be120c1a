import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDockRegistry, DOCK_LIMITS, dockFields, dockText } from './page/dock/dock-registry.js';

// The page dock's model (runtime/page/dock/dock-registry.ts) without the DOM: what the page world
// may hand it is cut to bounded text, entries belong to their plugin, and a plugin's are removed together.

describe('page dock registry', () => {
  it('turns page input into bounded plain text', () => {
    assert.equal(dockText('<b>bold</b>', 80), '<b>bold</b>'); // shown as text by the view, never parsed
    assert.equal(dockText({ toString: () => 'x' }, 80), '');
    assert.equal(dockText(42, 80), '');
    assert.equal(dockText('a\u0000\u001b[31mb\nc', 80), 'a [31mb c');
    assert.equal(dockText('a\nb\u0007', 80, true), 'a\nb');
    assert.equal(dockText('x'.repeat(500), 10), `${'x'.repeat(9)}…`);
    assert.equal(dockText('y'.repeat(10_000_000), DOCK_LIMITS.label).length, DOCK_LIMITS.label);
    assert.deepEqual(dockFields({ label: 'L', tone: 'purple', disabled: 'yes', other: 1 }), { label: 'L', tone: 'normal', disabled: false });
    assert.deepEqual(dockFields(null), {});
  });

  it('keeps entries per plugin, runs callbacks by key, and removes a plugin\'s entries together', () => {
    let changes = 0;
    const registry = createDockRegistry(() => {
      changes += 1;
    });
    let ran = 0;
    const button = registry.add('a', 'button', { label: 'Go' }, () => {
      ran += 1;
    });
    const command = registry.add('a', 'command', { label: 'Do' }, () => {
      ran += 10;
    });
    registry.add('b', 'badge', { label: 'B' }, null);
    assert.deepEqual(registry.commands(), [{ pluginId: 'a', id: command.key, label: 'Do' }]);
    assert.equal(registry.run(button.key), true);
    assert.equal(registry.run(command.key), true);
    assert.equal(ran, 11);
    registry.update(button.key, { disabled: true });
    assert.equal(registry.run(button.key), false, 'a disabled button does not run');

    assert.equal(registry.removePlugin('a'), true);
    assert.deepEqual(registry.entries().map((entry) => `${entry.pluginId}:${entry.label}`), ['b:B']);
    assert.equal(registry.update(button.key, { label: 'again' }), false, 'a removed entry stays removed');
    assert.equal(registry.run(command.key), false);
    assert.equal(registry.removePlugin('a'), false);
    assert.equal(changes, 5, 'three adds, one update, one removal');
  });

  it('reopens a closed panel on its next update', () => {
    const registry = createDockRegistry(() => undefined);
    const panel = registry.add('a', 'panel', { label: 'Summary', text: 'one' }, null);
    registry.setClosed(panel.key, true);
    assert.equal(registry.entries()[0]?.closed, true);
    registry.update(panel.key, { text: 'two' });
    assert.deepEqual([registry.entries()[0]?.closed, registry.entries()[0]?.text], [false, 'two']);
  });

  it(`refuses more than ${DOCK_LIMITS.perPlugin} entries of one plugin, and only of that one`, () => {
    const registry = createDockRegistry(() => undefined);
    for (let i = 0; i < DOCK_LIMITS.perPlugin; i += 1) registry.add('busy', 'badge', { label: String(i) }, null);
    assert.throws(() => registry.add('busy', 'badge', { label: 'one more' }, null), /already has 24 entries/);
    registry.add('other', 'badge', { label: 'fine' }, null);
    assert.equal(registry.entries().length, DOCK_LIMITS.perPlugin + 1);
  });
});
