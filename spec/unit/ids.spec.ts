import { expect } from 'chai';
import { isConversationId, isUserId, MAX_ID_LENGTH, newId, newOrderedId, shownId } from '../../actors/ids.js';

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

describe('newOrderedId', () => {
  it('is the prefix, an underscore and 17 url-safe characters', () => {
    expect(newOrderedId('m')).to.match(/^m_[0-9a-z]{9}[A-Za-z0-9_-]{8}$/);
  });

  it('sorts byte-wise in the order the ids were made, across milliseconds', () => {
    const made: string[] = [];
    const start = Date.now();
    // Across at least three millisecond boundaries; ids within one millisecond share a prefix.
    while (Date.now() < start + 3) made.push(newOrderedId('m'));
    made.push(newOrderedId('m'));
    const prefixes = made.map((id) => id.slice(0, 11));
    expect([...prefixes].sort()).to.deep.equal(prefixes);
    expect(new Set(prefixes).size).to.be.greaterThan(2);
  });

  it('does not repeat over many calls', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(newOrderedId('m'));
    expect(ids.size).to.equal(20_000);
  });
});

/** Strings no client may use as any id: each must fail both predicates. */
const MALFORMED: Array<[string, unknown]> = [
  ['an SQL fragment', "' OR 1=1 --"],
  ['a prefixed SQL fragment', "c_' OR 1=1 --"],
  ['a space', 'c_a b'],
  ['a slash', 'c_a/b'],
  ['a dot-dot', 'c_..'],
  ['a percent sign', 'c_50%'],
  ['a percent-encoded slash', 'c_a%2Fb'],
  ['a newline', 'c_a\nb'],
  ['a NUL', 'c_a\u0000'],
  ['an emoji', 'c_😀'],
  ['a non-ASCII letter', 'c_é'],
  ['JSON in a string', 'c_{"a":1}'],
  ['10 KB', `c_${'a'.repeat(10_240)}`],
  ['the prefix alone', 'c_'],
  ['an empty string', ''],
  ['no underscore', 'cabc'],
  ['an upper-case prefix', 'C_abc'],
  ['a message id', newId('m')],
  ['a family id', newId('f')],
  ['a number', 42],
  ['null', null],
  ['undefined', undefined],
  ['an array', ['c_abc']],
];

describe('isUserId and isConversationId', () => {
  it('accept every id newId makes with their prefix, and only that prefix', () => {
    for (let i = 0; i < 1000; i++) {
      const [user, conv] = [newId('u'), newId('c')];
      expect(isUserId(user), user).to.equal(true);
      expect(isConversationId(conv), conv).to.equal(true);
      expect(isConversationId(user), `${user} is not a conversation id`).to.equal(false);
      expect(isUserId(conv), `${conv} is not a user id`).to.equal(false);
    }
  });

  it('accept ids made by hand in fixtures: short ones, underscores and dashes in the tail', () => {
    for (const id of ['u_1', 'u_sender', 'u_someone_else', 'u_doesnotexist0000', 'u_x4L-4UOE']) expect(isUserId(id), id).to.equal(true);
    for (const id of ['c_1', 'c_tag0', 'c_a-b_c']) expect(isConversationId(id), id).to.equal(true);
  });

  it(`accept up to ${MAX_ID_LENGTH} characters in all, and refuse one more`, () => {
    const longest = `c_${'a'.repeat(MAX_ID_LENGTH - 2)}`;
    expect(isConversationId(longest)).to.equal(true);
    expect(isConversationId(`${longest}a`)).to.equal(false);
    expect(isUserId(`u_${'Z'.repeat(MAX_ID_LENGTH - 2)}`)).to.equal(true);
    expect(isUserId(`u_${'Z'.repeat(MAX_ID_LENGTH - 1)}`)).to.equal(false);
  });

  for (const [label, value] of MALFORMED) {
    it(`refuse ${label}`, () => {
      expect(isConversationId(value)).to.equal(false);
      const asUser = typeof value === 'string' && value.startsWith('c_') ? `u_${value.slice(2)}` : value;
      expect(isUserId(asUser)).to.equal(false);
    });
  }

  it('judge a 1 MB string without reading it all (well under a millisecond each)', () => {
    const huge = `c_${'a'.repeat(1 << 20)}`;
    const start = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) isConversationId(huge);
    const perCallMs = Number(process.hrtime.bigint() - start) / 1e6 / 1000;
    expect(perCallMs).to.be.below(0.05);
  });
});

describe('shownId', () => {
  it('repeats a well-formed id as it is', () => {
    const id = newId('u');
    expect(shownId(id)).to.equal(id);
  });

  it('quotes anything else and escapes quotes, backslashes and every character outside printable ASCII', () => {
    expect(shownId("' OR 1=1 --")).to.equal(`"' OR 1=1 --"`);
    expect(shownId('a"b\\c')).to.equal('"a\\"b\\\\c"');
    expect(shownId('a\u0000b\nc\u202ed😀')).to.equal('"a\\u0000b\\u000ac\\u202ed\\ud83d\\ude00"');
  });

  it('cuts a long string to 40 characters and marks the cut', () => {
    const shown = shownId('x'.repeat(10_240));
    expect(shown).to.equal(`"${'x'.repeat(40)}"…`);
  });
});
