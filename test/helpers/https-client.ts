// The TLS material a test process presents to https:// servers: the CA to trust and the client
// certificate (PEM contents). A TLS suite sets it in its beforeAll (vitest runs each file in its own
// worker, so one file's setting never reaches another); http:// requests ignore it.
export interface ClientTLSMaterial {
  ca: string;
  cert?: string;
  key?: string;
}

let material: ClientTLSMaterial | undefined;

export function useClientTLS(tls: ClientTLSMaterial | undefined): void {
  material = tls;
}

/** Options for node:https / node:tls requests (empty when no material was set). */
export function clientTLSOptions(): { ca?: string; cert?: string; key?: string } {
  return material === undefined ? {} : { ...material };
}
