// The agent's check catalogue, bundled: a finding's title, description and remediation without an API call.
// Pure data (agent/src/scan/catalogue.ts imports types only), so the browser bundle takes it as it is.
export { CHECKS, type CheckDefinition } from '../../../agent/src/scan/catalogue.js';
export { REFERENCES } from '../../../agent/src/scan/references.js';
