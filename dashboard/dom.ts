/** A child for {@link el}: text, a node, or nothing. */
export type Child = Node | string | number | null | undefined | false;

/**
 * `el('td', {class: 'n', 'data-chunk': 3}, 'text')`: attributes are set as strings (so tests and
 * CSS can select them), children appended as text or nodes.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | number | boolean | null | undefined>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The element with `id`; throws naming it when index.html lacks it (a page bug). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`dashboard: index.html has no #${id}`);
  return node as T;
}

/** Replace the children of `node`. */
export function fill(node: Element, ...children: Child[]): void {
  node.replaceChildren();
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}
