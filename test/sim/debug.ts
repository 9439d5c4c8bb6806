import { runScenario } from './run.js';
import { findScenario } from './scenarios.js';
const r = runScenario(findScenario(process.argv[2]!), Number(process.argv[3]), undefined, (l) => console.log(l));
console.log(JSON.stringify(r.violations));
