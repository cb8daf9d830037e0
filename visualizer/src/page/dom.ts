/** Small DOM helpers shared by the page's parts. */

/** The SVG namespace, for `createElementNS`. */
export const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * The element with this id, checked to be of the given class.
 * @throws Error when it is missing or of another kind (a broken index.html).
 */
export function byId<E extends Element>(id: string, kind: abstract new () => E): E {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`index.html: expected #${id} to be a ${kind.name}`);
  return element;
}

/** A new SVG element with the given attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** Sets an attribute only when its value changes (cheap to call every frame). */
export function setAttr(element: Element, name: string, value: string | number): void {
  const text = String(value);
  if (element.getAttribute(name) !== text) element.setAttribute(name, text);
}

/** Sets an element's text only when it changes. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
