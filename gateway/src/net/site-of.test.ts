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
  assert.equal(siteOf('http://[::1]:3000'), '[0:0:0:0::/64]');
  assert.equal(siteOf('http://localhost:3000'), 'localhost');
});

test('labels that browsers take but hostname rules refuse, and long ones, still belong to their site', () => {
  for (const origin of ['http://-a.shop.com', 'http://a-.shop.com:8080', `http://${'x'.repeat(64)}.shop.com`, 'http://a_b.shop.com']) assert.equal(siteOf(origin), 'shop.com', origin);
});

test('IPv6 addresses count by /64, the network one host is given; IPv4 addresses by address', () => {
  assert.equal(siteOf('http://[2001:db8::1]'), siteOf('http://[2001:db8:0:0:ffff::2]:8080'));
  assert.equal(siteOf('http://[2001:db8::1]'), '[2001:db8:0:0::/64]');
  assert.notEqual(siteOf('http://[2001:db8:0:1::1]'), siteOf('http://[2001:db8::1]'));
  assert.notEqual(siteOf('http://10.0.0.1'), siteOf('http://10.0.0.2'));
});
