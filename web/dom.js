/** Small DOM helpers shared by the page's views. None of them ever parses text as HTML. */

const FLASH_MS = 8_000;
const flashTimers = new Map();

/** A new element, with text set through textContent. */
export function el(tag, className = '', text = '') {
  const element = document.createElement(tag);
  if (className !== '') element.className = className;
  if (text !== '') element.textContent = text;
  return element;
}

/**
 * Makes `parent`'s children exactly `wanted`, in order, moving only what is out of place: kept
 * elements keep their focus, and a live region announces only what is new.
 */
export function arrange(parent, wanted) {
  let cursor = parent.firstElementChild;
  for (const element of wanted) {
    if (element === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(element, cursor);
  }
  while (cursor !== null) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}

/** Shows a short-lived line of text (a notice or an error) that clears itself. */
export function flash(element, text) {
  clearTimeout(flashTimers.get(element));
  element.textContent = text;
  flashTimers.set(element, setTimeout(() => {
    element.textContent = '';
  }, FLASH_MS));
}

/** Disables a form's controls (or one button) while `work` runs. */
export async function busy(target, work) {
  const controls = target instanceof HTMLFormElement ? [...target.elements] : [target];
  for (const control of controls) control.disabled = true;
  try {
    await work();
  } finally {
    for (const control of controls) control.disabled = false;
  }
}
