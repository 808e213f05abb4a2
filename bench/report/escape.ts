/**
 * HTML escaping for every string that comes from a run. A run's labels, commands and reasons are
 * typed by people and scripts; the report must show them as text and never let one of them become
 * markup (a label such as `<script>` must stay visible, not run).
 */

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `text` made safe for element content and for quoted attribute values, in HTML and in SVG. */
export function escapeHtml(text: string | number | boolean): string {
  return String(text).replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}
