/**
 * The `repo.append` span of a batched write (runtime/tracing.ts). One write stores the messages
 * of several sends, each with its own trace: the span is a child of the first traced send's
 * `conversation.send` span and links to the others', so every send's trace reaches the write.
 */
import { inSpan, isTracing, linksTo, ROOT_CONTEXT, SPAN_REPO_APPEND, SpanKind, type Context } from '../runtime/tracing.js';
import type { PendingSend } from './recent-sends.js';

/**
 * Runs `write` (the store call) in the batch's `repo.append` span, active during the call so a
 * gRPC store client carries it on to the repo role. Without an SDK, just `write()`.
 */
export function writeInSpan(batch: readonly PendingSend[], rows: number, write: () => Promise<void>): Promise<void> {
  if (!isTracing()) return write();
  let parent: Context | undefined;
  const others: Context[] = [];
  for (const pending of batch) {
    if (pending.trace === undefined) continue;
    if (parent === undefined) parent = pending.trace;
    else others.push(pending.trace);
  }
  const links = others.length === 0 ? undefined : linksTo(others);
  return inSpan(SPAN_REPO_APPEND, SpanKind.CLIENT, parent ?? ROOT_CONTEXT, (span) => {
    if (span?.isRecording() === true) span.setAttribute('troupe.rows', rows);
    return write();
  }, links);
}
