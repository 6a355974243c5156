// ts-jest wants a transformer module with `name`, `version` and `factory`; this one runs the
// swagger CLI plugin with the options of nest-cli.json, so tests see the same metadata as the build.
const plugin = require('@nestjs/swagger/plugin');
const { options } = require('../nest-cli.json').compilerOptions.plugins[0];

module.exports.name = 'nestjs-swagger-transformer';
// Bump when the options change, so ts-jest's cache is refreshed.
module.exports.version = 1;
module.exports.factory = (compiler) => plugin.before(options, compiler.program);
