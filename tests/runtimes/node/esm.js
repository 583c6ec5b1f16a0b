// An ES module in a .js file: loaded after CommonJS refused its syntax.
import path from 'node:path';
let count = 0;
export const handler = async (req) => {
  count++;
  return { style: 'esm', count, meta: path.basename(new URL(import.meta.url).pathname) };
};
