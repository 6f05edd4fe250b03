import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceRate } from '../../src/batch/service-rate.js';

test('the drain rate counts busy time only: idle gaps do not make a service look slow', () => {
  const r = new ServiceRate();
  assert.equal(r.perSecond, null, 'unknown until enough busy time');
  let now = 0;
  // Ten busy periods of 100 ms, 20 items each, separated by 900 ms of idleness.
  for (let k = 0; k < 10; k++) {
    r.setBusy(true, now);
    r.completed(10, now + 50);
    r.completed(10, now + 100);
    r.setBusy(false, now + 100);
    now += 1000;
  }
  assert.ok(r.perSecond !== null && Math.abs(r.perSecond - 200) < 1, `${r.perSecond} items/s while busy (not 20 per wall second)`);
});

test('the rate follows a slower service within a few samples', () => {
  const r = new ServiceRate();
  r.setBusy(true, 0);
  let now = 0;
  for (let k = 0; k < 10; k++) r.completed(100, (now += 500)); // 200 items/s
  assert.ok(Math.abs(r.perSecond! - 200) < 1);
  for (let k = 0; k < 10; k++) r.completed(25, (now += 500)); // 50 items/s
  assert.ok(r.perSecond! < 60, `${r.perSecond}`);
});
