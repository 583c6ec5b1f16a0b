exports.handler = function (req {
  return 1;
};
