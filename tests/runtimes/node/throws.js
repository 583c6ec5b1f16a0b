throw new Error('the module throws at load');
