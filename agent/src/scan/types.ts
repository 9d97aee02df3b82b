// Shapes passed between discovery, probes and checks inside the scanner.
import type { ExposureFinding } from '../../../shared/src/messages/exposure.js';

export type Transport = 'tcp' | 'udp';

/** One listening socket group (transport + port) as discovery saw it. */
export interface ListeningService {
  readonly transport: Transport;
  readonly port: number;
  /** Every address the port is bound to, as text (0.0.0.0, ::, 127.0.0.1, 192.0.2.7 …). */
  readonly binds: readonly string[];
  readonly process?: { readonly pid: number; readonly name: string };
  /** Established TCP connections to the port. */
  readonly connections?: number;
}

/** A port to probe, on a concrete address. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly transport: Transport;
  /** False when the service can be reached from other hosts (bound beyond loopback, or a remote target). */
  readonly loopbackOnly: boolean;
}

export interface CertFacts {
  readonly subject: string;
  readonly issuer: string;
  readonly selfSigned: boolean;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly keyType: string;
  /** RSA/DSA modulus bits, or the curve size for EC keys. */
  readonly keyBits: number;
  readonly curve?: string;
  readonly fingerprint256: string;
}

export interface TlsFacts {
  readonly version: string;
  readonly cipher: string;
  readonly cert?: CertFacts;
  /** Legacy versions whose handshake completed, with the cipher negotiated. */
  readonly legacy: readonly { readonly version: 'TLSv1' | 'TLSv1.1'; readonly cipher: string }[];
  /** The server asked for a client certificate and refused the probe without one. */
  readonly clientCertRequired: boolean;
}

export interface HttpResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Body text (latin1), capped. */
  readonly body: string;
}

export interface HttpExchange {
  readonly method: 'GET' | 'HEAD' | 'OPTIONS';
  readonly path: string;
  /** Credentials sent, as user:password (only for default-credential tries and the rate-limit burst). */
  readonly credentials?: string;
  readonly origin?: string;
  readonly response?: HttpResponse;
  readonly error?: string;
}

/** What the protocol-specific probes learned; checks are pure functions of these facts. */
export type ProtocolFacts =
  | {
      readonly protocol: 'mqtt';
      readonly connack: number;
      readonly subscribe?: { readonly topic: string; readonly returnCode: number };
    }
  | {
      readonly protocol: 'redis';
      readonly reply: string;
      readonly auth: 'none' | 'required' | 'protected';
      readonly version?: string;
    }
  | { readonly protocol: 'memcached'; readonly reply: string; readonly version?: string }
  | {
      readonly protocol: 'ssh';
      readonly banner: string;
      readonly authMethods?: readonly string[];
      readonly authError?: string;
    }
  | { readonly protocol: 'telnet'; readonly banner: string; readonly iac: boolean }
  | {
      readonly protocol: 'ftp';
      readonly banner: string;
      readonly anonymous?: { readonly accepted: boolean; readonly reply: string };
    }
  | {
      readonly protocol: 'postgresql';
      readonly sslSupported: boolean;
      readonly trust?: { readonly user: string; readonly accepted: boolean; readonly detail: string };
    }
  | {
      readonly protocol: 'mongodb';
      readonly version?: string;
      readonly listDatabases?: { readonly ok: boolean; readonly detail: string };
    }
  | {
      readonly protocol: 'modbus';
      readonly unitId: number;
      readonly functionCode: number;
      readonly exception?: number;
      readonly identity?: string;
    }
  | {
      readonly protocol: 'ssdp';
      readonly server?: string;
      readonly st?: string;
      readonly usn?: string;
      readonly location?: string;
    }
  | {
      readonly protocol: 'http';
      readonly exchanges: readonly HttpExchange[];
      readonly nodeRed: boolean;
      /** Set when the service behaved as an AI endpoint (a model answered the detection question). */
      readonly ai?: AiFacts;
    }
  | { readonly protocol: 'smtp' | 'mysql' | 'vnc' | 'unknown'; readonly banner?: string };

export type ProtocolName = ProtocolFacts['protocol'];

/** Everything learned about one service. */
export interface ServiceObservation {
  readonly target: ProbeTarget;
  readonly listening?: ListeningService;
  readonly tls?: TlsFacts;
  readonly facts: ProtocolFacts;
  readonly product?: string;
}

export type Finding = ExposureFinding;

export type AiKind = 'openai-compatible' | 'ollama' | 'chat-assistant';

/** One llm.* probe and what it showed; the texts are already shortened and masked for evidence. */
export interface AiProbe {
  readonly probe: string;
  readonly answer: string;
  /** The verdict rule held (marker transformed, instruction text leaked, action taken without confirmation …). */
  readonly hit: boolean;
  readonly detail?: string;
}

/** What the llm.* probes learned about one AI endpoint. */
export interface AiFacts {
  readonly kind: AiKind;
  /** The chat path the probes used. */
  readonly path: string;
  /** A model answered the detection question without credentials (the transformed marker came back). */
  readonly answeredWithoutAuth: boolean;
  readonly detection?: AiProbe;
  /** Model name and version as the service disclosed them, with where. */
  readonly model?: { readonly name: string; readonly source: string };
  readonly injection: readonly (AiProbe & { readonly style: string })[];
  readonly leak: readonly AiProbe[];
  /** Empty unless --llm-probes all. */
  readonly agency: readonly AiProbe[];
  readonly consumption?: { readonly hit: boolean; readonly detail: string };
  readonly level: 'safe' | 'all';
  /** Requests sent to this endpoint by the llm.* probes. */
  readonly requests: number;
  /** Set when the per-endpoint budget cut the probes short, with what was left undone. */
  readonly cutOff?: string;
}
