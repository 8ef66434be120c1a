import assert from 'node:assert/strict';
import { test } from 'node:test';
import { siteOf } from './site-of.js';

test('subdomains, ports and schemes of one registrable domain are one site', () => {
  for (const origin of ['https://shop.com', 'https://a.shop.com', 'http://b.c.shop.com:8080', 'https://SHOP.com']) assert.equal(siteOf(origin), 'shop.com', origin);
  assert.equal(siteOf('https://www.shop.co.uk'), 'shop.co.uk');
});

test('different owners under a public suffix, and hosts without a registrable domain, are sites of their own', () => {
  assert.notEqual(siteOf('https://alice.github.io'), siteOf('https://bob.github.io'));
  assert.notEqual(siteOf('https://shop.co.uk'), siteOf('https://other.co.uk'));
  assert.equal(siteOf('http://127.0.0.1:3000'), '127.0.0.1');
  assert.equal(siteOf('http://[::1]:3000'), '[::1]');
  assert.equal(siteOf('http://localhost:3000'), 'localhost');
});
