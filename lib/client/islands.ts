/** Browser runtime for islands: hydrates every marker of one island with its JSON props. */
import { type ComponentType, h, hydrate } from "preact";

/** Hydrates all `[data-island=name]` markers on the page with `Component`. */
export function hydrateIslands(name: string, Component: ComponentType<Record<string, unknown>>): void {
  for (const el of document.querySelectorAll<HTMLElement>(`[data-island="${name}"]`)) {
    const props = JSON.parse(el.dataset.props ?? "{}");
    hydrate(h(Component, props), el);
    el.dataset.hydrated = "true";
  }
}
