/**
 * Server side of islands: `island(name, Component)` renders the component to HTML inside a marker
 * element that carries its name and JSON props, and records that the page needs that island's
 * bundle. The browser runtime (`lib/client/islands.ts`) hydrates the markers.
 */
import type { ComponentType } from "preact";

let collected: Set<string> | null = null;

/** Runs a synchronous render and returns its result with the names of the islands it rendered. */
export function collectIslands<T>(render: () => T): [T, string[]] {
  const previous = collected;
  collected = new Set();
  try {
    const result = render();
    return [result, [...collected]];
  } finally {
    collected = previous;
  }
}

/** Wraps an island component for server rendering. `name` is its file name in `islands/`. */
export function island<P extends Record<string, unknown>>(name: string, Component: ComponentType<P>) {
  function Island(props: P) {
    collected?.add(name);
    return (
      <div class="island" data-island={name} data-props={JSON.stringify(props)}>
        <Component {...props} />
      </div>
    );
  }
  Island.displayName = `Island(${name})`;
  return Island;
}
