import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { servableFromPage } from './plugin-availability.js';

describe('servableFromPage', () => {
  const cloudOnly = { inference: { default_mode: 'cloud' as const } };
  const both = { inference: { default_mode: 'cloud' as const, local_entry: 'backend.js' } };
  const local = { inference: { default_mode: 'local' as const, local_entry: 'backend.js' } };
  const facts = { cloudConfigured: false, userMode: undefined, fallback: 'none' as const };

  it('is false only for a cloud plugin with no cloud and no fallback that could serve it', () => {
    assert.equal(servableFromPage(cloudOnly, facts), false);
    assert.equal(servableFromPage(cloudOnly, { ...facts, fallback: 'both' }), false, 'no local backend to fall back to');
    assert.equal(servableFromPage(both, facts), false);
    assert.equal(servableFromPage(both, { ...facts, fallback: 'cloud_to_local' }), true);
    assert.equal(servableFromPage(both, { ...facts, fallback: 'local_to_cloud' }), false);
    assert.equal(servableFromPage(cloudOnly, { ...facts, cloudConfigured: true }), true);
    assert.equal(servableFromPage(local, facts), true);
    assert.equal(servableFromPage({}, facts), true);
  });

  it("follows the user's mode over the manifest's", () => {
    assert.equal(servableFromPage(local, { ...facts, userMode: 'cloud' }), false);
    assert.equal(servableFromPage(both, { ...facts, userMode: 'local' }), true);
    // Set to the cloud by the user: no fallback takes the call back to this machine.
    assert.equal(servableFromPage(both, { ...facts, userMode: 'cloud', fallback: 'cloud_to_local' }), false);
  });
});
