// CommonJS through module.exports, async, using require().
const os = require('os');
let count = 0;
module.exports = {
  handler: async (req) => {
    count++;
    await new Promise((r) => setTimeout(r, 5));
    return { style: 'module.exports', count, eol: os.EOL === '\n' };
  },
};
