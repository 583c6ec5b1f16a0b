// CommonJS through exports.handler, synchronous, with module state.
let count = 0;
exports.handler = function (req) {
  count++;
  return { statusCode: 200, headers: {}, body: { style: 'exports', count, method: req.method } };
};
