// A real dynamic import(), kept out of TypeScript's reach: compiled to CommonJS, TS would turn
// it into require(), which cannot load the ESM-only Agent SDK under Jest on Node 20.
module.exports.importEsm = (specifier) => import(specifier);
