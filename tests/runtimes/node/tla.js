// An ES module with top-level await in a .js file: no CommonJS reading
// (and no require(esm)) takes it, so it loads from the private .mjs copy.
const ready = await Promise.resolve('esm-tla');
export function handler() {
  return { style: ready, meta: new URL(import.meta.url).pathname.split('/').pop() };
}
