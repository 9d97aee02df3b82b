// Reference ids used by the check catalogue, with their titles and links (docs/checks.md, SARIF helpUri).

export interface Reference {
  readonly title: string;
  readonly url: string;
}

const api = (n: number, slug: string, title: string): Reference => ({
  title: `OWASP API Security Top 10 2023 — API${n}: ${title}`,
  url: `https://owasp.org/API-Security/editions/2023/en/0xa${n === 10 ? 'a' : n}-${slug}/`,
});
const iot = (n: number, title: string): Reference => ({
  title: `OWASP IoT Top 10 2018 — I${n}: ${title}`,
  url: 'https://owasp.org/www-project-internet-of-things/',
});
const llm = (n: number, title: string): Reference => ({
  title: `OWASP Top 10 for LLM Applications 2025 — LLM${String(n).padStart(2, '0')}: ${title}`,
  // The list page: the per-risk pages' addresses have changed between editions.
  url: 'https://genai.owasp.org/llm-top-10/',
});
const cwe = (n: number, title: string): Reference => ({
  title: `CWE-${n}: ${title}`,
  url: `https://cwe.mitre.org/data/definitions/${n}.html`,
});

export const REFERENCES = {
  'OWASP-API1:2023': api(1, 'broken-object-level-authorization', 'Broken Object Level Authorization'),
  'OWASP-API2:2023': api(2, 'broken-authentication', 'Broken Authentication'),
  'OWASP-API4:2023': api(4, 'unrestricted-resource-consumption', 'Unrestricted Resource Consumption'),
  'OWASP-API5:2023': api(5, 'broken-function-level-authorization', 'Broken Function Level Authorization'),
  'OWASP-API8:2023': api(8, 'security-misconfiguration', 'Security Misconfiguration'),
  'OWASP-API9:2023': api(9, 'improper-inventory-management', 'Improper Inventory Management'),
  'OWASP-IoT-I1:2018': iot(1, 'Weak, Guessable, or Hardcoded Passwords'),
  'OWASP-IoT-I2:2018': iot(2, 'Insecure Network Services'),
  'OWASP-IoT-I3:2018': iot(3, 'Insecure Ecosystem Interfaces'),
  'OWASP-IoT-I6:2018': iot(6, 'Insufficient Privacy Protection'),
  'OWASP-IoT-I7:2018': iot(7, 'Insecure Data Transfer and Storage'),
  'OWASP-IoT-I9:2018': iot(9, 'Insecure Default Settings'),
  'OWASP-LLM01:2025': llm(1, 'Prompt Injection'),
  'OWASP-LLM02:2025': llm(2, 'Sensitive Information Disclosure'),
  'OWASP-LLM06:2025': llm(6, 'Excessive Agency'),
  'OWASP-LLM07:2025': llm(7, 'System Prompt Leakage'),
  'OWASP-LLM10:2025': llm(10, 'Unbounded Consumption'),
  'CWE-77': cwe(77, "Improper Neutralization of Special Elements used in a Command ('Command Injection')"),
  'CWE-200': cwe(200, 'Exposure of Sensitive Information to an Unauthorized Actor'),
  'CWE-209': cwe(209, 'Generation of Error Message Containing Sensitive Information'),
  'CWE-284': cwe(284, 'Improper Access Control'),
  'CWE-295': cwe(295, 'Improper Certificate Validation'),
  'CWE-298': cwe(298, 'Improper Validation of Certificate Expiration'),
  'CWE-306': cwe(306, 'Missing Authentication for Critical Function'),
  'CWE-307': cwe(307, 'Improper Restriction of Excessive Authentication Attempts'),
  'CWE-309': cwe(309, 'Use of Password System for Primary Authentication'),
  'CWE-319': cwe(319, 'Cleartext Transmission of Sensitive Information'),
  'CWE-326': cwe(326, 'Inadequate Encryption Strength'),
  'CWE-327': cwe(327, 'Use of a Broken or Risky Cryptographic Algorithm'),
  'CWE-489': cwe(489, 'Active Debug Code'),
  'CWE-497': cwe(497, 'Exposure of Sensitive System Information to an Unauthorized Control Sphere'),
  'CWE-538': cwe(538, 'Insertion of Sensitive Information into Externally-Accessible File or Directory'),
  'CWE-548': cwe(548, 'Exposure of Information Through Directory Listing'),
  'CWE-400': cwe(400, 'Uncontrolled Resource Consumption'),
  'CWE-693': cwe(693, 'Protection Mechanism Failure'),
  'CWE-749': cwe(749, 'Exposed Dangerous Method or Function'),
  'CWE-942': cwe(942, 'Permissive Cross-domain Policy with Untrusted Domains'),
  'CWE-1327': cwe(1327, 'Binding to an Unrestricted IP Address'),
  'CWE-1392': cwe(1392, 'Use of Default Credentials'),
} as const satisfies Record<string, Reference>;

export type ReferenceId = keyof typeof REFERENCES;
