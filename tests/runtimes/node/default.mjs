// The handler as a member of the default export (the seed's fallback).
export default {
  handler(req) { return { style: 'default', path: req.path }; },
};
