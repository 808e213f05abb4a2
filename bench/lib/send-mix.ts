/**
 * Who sends to which conversation, in what order: every (member, conversation) pair of the
 * population once, shuffled with a fixed seed (so two runs offer the same traffic) and cycled.
 * A group of 10 has 10 pairs and a direct conversation 2, so each member sends about as often in
 * each of its conversations, and a group message fans out to 9 deliveries, a direct one to 1.
 */
import type { BenchConversation } from './population.js';

export interface SendPair {
  sender: number;
  conv: number;
}

export class SendMix {
  private readonly pairs: SendPair[];
  private cursor = 0;

  constructor(conversations: readonly BenchConversation[], seed = 1) {
    this.pairs = conversations.flatMap((c, conv) => c.members.map((sender) => ({ sender, conv })));
    shuffle(this.pairs, mulberry32(seed));
  }

  next(): SendPair {
    const pair = this.pairs[this.cursor]!;
    this.cursor = (this.cursor + 1) % this.pairs.length;
    return pair;
  }

  /** Mean `msg` frames one send causes: members − 1, averaged over the pairs. */
  meanFanout(conversations: readonly BenchConversation[]): number {
    const total = this.pairs.reduce((sum, p) => sum + conversations[p.conv]!.members.length - 1, 0);
    return total / this.pairs.length;
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** A tiny seeded PRNG (mulberry32): reproducible traffic, no dependency. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
