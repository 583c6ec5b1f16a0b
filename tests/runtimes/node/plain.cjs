module.exports.handler = () => ({ style: 'cjs' });
