import { expect } from 'chai';
import { newId } from '../../actors/ids.js';

describe('newId', () => {
  it('is the prefix, an underscore and 16 url-safe characters', () => {
    for (const prefix of ['u', 'c', 'm', 'f']) {
      expect(newId(prefix)).to.match(new RegExp(`^${prefix}_[A-Za-z0-9_-]{16}$`));
    }
  });

  it('does not repeat over many calls', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(newId('u'));
    expect(ids.size).to.equal(20_000);
  });
});
